# tests/irc/servers.sh - starts real IRC servers for the tests (source it
# after tests/lib.sh).  Everything is written under $WORK, listens on
# 127.0.0.1 on free ports, and is stopped by PID when the script exits.
# Servers: ngircd (plain + TLS), InspIRCd 3 (plain, TLS, a flood-exempt
# port, IRCv3 modules) with Anope 2.0 services linked for SASL.  Also the
# test CA and certificates.  No bot logic here.

IRC_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PY=/usr/bin/python3

# irc_certs DIR: a test CA, a server certificate for localhost/127.0.0.1
# signed by it, a self-signed "untrusted" server certificate, a client
# certificate for SASL EXTERNAL, and one no account knows (stranger.pem).  EC keys: generated in a few ms.
irc_certs() {
	local d=$1
	mkdir -p "$d"
	need_debs openssl
	(
		cd "$d"
		local ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
		openssl req -x509 "${ec[@]}" -keyout ca.key -out ca.pem -days 30 \
			-subj "/CN=faqbot test CA" \
			-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
		openssl req "${ec[@]}" -keyout server.key -out server.csr -subj "/CN=localhost"
		printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >server.ext
		openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
			-out server.pem -days 30 -extfile server.ext
		# Same names, but signed by nobody the bot trusts.
		openssl req -x509 "${ec[@]}" -keyout untrusted.key -out untrusted.pem -days 30 \
			-subj "/CN=localhost" -addext subjectAltName=DNS:localhost,IP:127.0.0.1
		openssl req -x509 "${ec[@]}" -keyout client.key -out client.pem -days 30 \
			-subj "/CN=faqbot client"
		openssl x509 -in client.pem -noout -fingerprint -sha256 |
			sed 's/.*=//; s/://g' | tr 'A-F' 'a-f' >client.fp
		# A client certificate no services account knows (EXTERNAL fails).
		openssl req -x509 "${ec[@]}" -keyout stranger.key -out stranger.pem -days 30 \
			-subj "/CN=nobody"
	) >"$d/openssl.log" 2>&1 || { cat "$d/openssl.log" >&2; die "openssl could not make the test certificates"; }
}

# _irc_wait_pid_port PID PORT SECONDS NAME LOG: wait for the port, but fail
# at once (with the log) if the server died.
_irc_wait_pid_port() {
	local pid=$1 port=$2 t=$3 name=$4 logf=$5 i
	for ((i = 0; i < t * 20; i++)); do
		if ! kill -0 "$pid" 2>/dev/null; then
			tail -n 30 "$logf" >&2
			die "$name exited before listening on $port (log: $logf)"
		fi
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
		sleep 0.05
	done
	tail -n 30 "$logf" >&2
	die "$name does not listen on 127.0.0.1:$port after ${t}s (log: $logf)"
}

# ngircd_start NAME [nopenalty] [tls]: sets NAME_PORT (and NAME_TLS_PORT),
# NAME_PID, NAME_DIR.  "nopenalty" sets MaxPenaltyTime = 0 (bench).
# "tls" also listens with the test CA's server certificate (made by
# irc_certs into $WORK/certs when missing).  NAME_DIR/server.pid and
# NAME_CMD let a test kill and restart it (the exit hook reads the file).
ngircd_start() {
	local name=$1; shift
	local nopen=0 tls=0 a
	for a in "$@"; do case $a in nopenalty) nopen=1;; tls) tls=1;; esac; done
	need_debs ngircd
	local d=$WORK/$name port tport=""
	mkdir -p "$d/conf.d"
	[ $tls = 0 ] || [ -f "$WORK/certs/server.pem" ] || irc_certs "$WORK/certs"
	port=$(free_port)
	: >"$d/motd"
	{
		printf '[Global]\n\tName = %s.test.local\n\tInfo = faqbot test server\n' "$name"
		printf '\tListen = 127.0.0.1\n\tPorts = %s\n\tMotdFile = %s/motd\n' "$port" "$d"
		printf '\tPidFile = %s/ngircd.pid\n\tHelpFile = /dev/null\n' "$d"
		printf '[Limits]\n\tMaxConnectionsIP = 0\n\tMaxNickLength = 30\n\tPingTimeout = 120\n\tPongTimeout = 20\n'
		[ $nopen = 1 ] && printf '\tMaxPenaltyTime = 0\n'
		printf '[Options]\n\tDNS = no\n\tIdent = no\n\tPAM = no\n\tIncludeDir = %s/conf.d\n' "$d"
		if [ $tls = 1 ]; then
			tport=$(free_port)
			printf '[SSL]\n\tCertFile = %s/certs/server.pem\n\tKeyFile = %s/certs/server.key\n\tPorts = %s\n' \
				"$WORK" "$WORK" "$tport"
		fi
	} >"$d/ngircd.conf"
	printf -v "${name}_PORT" %s "$port"
	printf -v "${name}_TLS_PORT" %s "$tport"
	printf -v "${name}_DIR" %s "$d"
	_ngircd_run "$name"
}

_ngircd_run() {
	local name=$1 d port pid
	d=${name}_DIR; d=${!d}
	port=${name}_PORT; port=${!port}
	printf -v "${name}_CMD" %s "ngircd -n -f $d/ngircd.conf"
	(ulimit -c 0; cd "$d" && exec ngircd -n -f "$d/ngircd.conf" >>"$d/ngircd.log" 2>&1) &
	pid=$!
	track_pid "$pid"
	echo "$pid" >"$d/server.pid"
	at_exit "kill -9 \$(cat $d/server.pid) 2>/dev/null"
	printf -v "${name}_PID" %s "$pid"
	_irc_wait_pid_port "$pid" "$port" 10 ngircd "$d/ngircd.log"
	local tp=${name}_TLS_PORT
	[ -n "${!tp}" ] && _irc_wait_pid_port "$pid" "${!tp}" 10 ngircd "$d/ngircd.log"
	return 0
}

# inspircd_start NAME [services]: InspIRCd 3 with ssl_gnutls and the IRCv3
# modules.  Sets NAME_PORT (plain), NAME_TLS_PORT (test CA certificate),
# NAME_BAD_TLS_PORT (untrusted certificate), NAME_FAST_PORT (plain,
# flood-exempt class, for test and bench clients), NAME_LINK_PORT,
# NAME_PID, NAME_DIR.  "services" also starts Anope linked to it and
# waits until the sasl capability is advertised.
inspircd_start() {
	local name=$1 services=0
	[ "${2:-}" = services ] && services=1
	need_debs inspircd
	[ -f "$WORK/certs/server.pem" ] || irc_certs "$WORK/certs"
	local d=$WORK/$name port tport bport fport lport
	mkdir -p "$d/data" "$d/logs"
	port=$(free_port); tport=$(free_port); bport=$(free_port); fport=$(free_port); lport=$(free_port)
	local m
	{
		cat <<-EOF
		<server name="$name.test.local" description="faqbot test server" network="FaqTest">
		<admin name="test" nick="test" email="test@localhost">
		<performance netbuffersize="65534" somaxconn="128" softlimit="1024" clonesonconnect="no" quietbursts="yes">
		<bind address="127.0.0.1" port="$port" type="clients">
		<bind address="127.0.0.1" port="$fport" type="clients">
		<bind address="127.0.0.1" port="$tport" type="clients" ssl="testca">
		<bind address="127.0.0.1" port="$bport" type="clients" ssl="untrusted">
		<bind address="127.0.0.1" port="$lport" type="servers">
		<sslprofile name="testca" provider="gnutls" certfile="$WORK/certs/server.pem" keyfile="$WORK/certs/server.key" hash="sha256" requestclientcert="yes">
		<sslprofile name="untrusted" provider="gnutls" certfile="$WORK/certs/untrusted.pem" keyfile="$WORK/certs/untrusted.key" hash="sha256">
		<connect name="bench" allow="127.0.0.1" port="$fport" commandrate="100000000" threshold="1000000" fakelag="no"
		         recvq="10M" softsendq="10M" hardsendq="100M" pingfreq="120" timeout="60" localmax="1000" globalmax="1000" maxchans="50" resolvehostnames="no">
		<connect name="main" allow="*" timeout="60" pingfreq="120" localmax="1000" globalmax="1000" maxchans="50" resolvehostnames="no">
		<dns server="127.0.0.1" timeout="1">
		<pid file="$d/inspircd.pid">
		<log method="file" type="* -USERINPUT -USEROUTPUT" level="default" target="$d/logs/ircd.log">
		<options prefixquit="Quit: " syntaxhints="no" announcets="yes" hostintopic="yes" pingwarning="15" splitwhois="no" exemptchanops="">
		<security announceinvites="dynamic" hideserver="" userstats="Pu" customversion="" flatlinks="no" hidesplits="no" hideulines="no" hidebans="no" maxtargets="20">
		<limits maxnick="30" maxchan="64" maxmodes="20" maxident="11" maxhost="64" maxquit="255" maxtopic="307" maxkick="255" maxreal="128" maxgecos="128" maxaway="200">
		<path moduledir="/usr/lib/inspircd/modules" datadir="$d/data" logdir="$d/logs" configdir="$d" runtimedir="$d">
		<channels users="100" opers="100">
		<class name="all" commands="*" privs="*" usermodes="*" chanmodes="*" snomasks="*">
		<type name="Admin" classes="all">
		<oper name="oper" password="operpass" host="*@*" type="Admin">
		EOF
		for m in ssl_gnutls cap ircv3 ircv3_accounttag ircv3_batch ircv3_capnotify ircv3_ctctags \
			ircv3_echomessage ircv3_labeledresponse ircv3_msgid ircv3_servertime sslinfo namesx \
			sasl services_account spanningtree hidechans chghost chgident chgname servprotect \
			svshold topiclock mlock; do
			printf '<module name="%s">\n' "$m"
		done
		cat <<-EOF
		<sasl target="services.test.local" requiressl="no">
		<link name="services.test.local" ipaddr="127.0.0.1" port="$lport" allowmask="127.0.0.0/8" sendpass="linkpass" recvpass="linkpass">
		<uline server="services.test.local" silent="yes">
		EOF
	} >"$d/inspircd.conf"
	printf -v "${name}_PORT" %s "$port"
	printf -v "${name}_TLS_PORT" %s "$tport"
	printf -v "${name}_BAD_TLS_PORT" %s "$bport"
	printf -v "${name}_FAST_PORT" %s "$fport"
	printf -v "${name}_LINK_PORT" %s "$lport"
	printf -v "${name}_DIR" %s "$d"
	# No core files: InspIRCd 3.15 may crash while unloading modules at
	# SIGTERM, so the exit hook stops it with SIGKILL first.
	(ulimit -c 0; cd "$d" && exec inspircd --runasroot --nofork --config="$d/inspircd.conf" >"$d/inspircd.out" 2>&1) &
	local pid=$!
	track_pid "$pid"
	at_exit "kill -9 $pid 2>/dev/null"
	printf -v "${name}_PID" %s "$pid"
	_irc_wait_pid_port "$pid" "$port" 15 inspircd "$d/inspircd.out"
	_irc_wait_pid_port "$pid" "$lport" 5 inspircd "$d/inspircd.out"
	[ $services = 1 ] && anope_start "$name"
	return 0
}

# anope_start NAME: Anope 2.0 linked to the InspIRCd instance NAME, with
# NickServ registration open (no mail), SASL PLAIN and EXTERNAL
# (ns_cert).  Waits until the server advertises the sasl capability.
anope_start() {
	local name=$1
	need_debs anope
	local d=$WORK/$name/anope ircd_dir lport
	ircd_dir=${name}_DIR; ircd_dir=${!ircd_dir}
	lport=${name}_LINK_PORT; lport=${!lport}
	mkdir -p "$d/conf" "$d/data" "$d/logs"
	# Anope's parser wants one item a line.
	cat >"$d/conf/services.conf" <<-EOF
	define
	{
		name = "services.host"
		value = "services.test.local"
	}
	uplink
	{
		host = "127.0.0.1"
		ipv6 = no
		ssl = no
		port = $lport
		password = "linkpass"
	}
	serverinfo
	{
		name = "services.test.local"
		description = "Services"
		pid = "$d/anope.pid"
		motd = "/dev/null"
	}
	module
	{
		name = "inspircd3"
		use_server_side_mlock = yes
		use_server_side_topiclock = yes
	}
	networkinfo
	{
		networkname = "FaqTest"
		nicklen = 30
		userlen = 10
		hostlen = 64
		chanlen = 32
		modelistsize = 100
		vhost_chars = "abcdefghijklmnopqrstuvwxyz0123456789.-"
		allow_undotted_vhosts = false
		disallow_start_or_end = ".-"
	}
	options
	{
		casemap = "rfc1459"
		strictpasswords = no
		badpasslimit = 0
		badpasstimeout = 1h
		updatetimeout = 5m
		expiretimeout = 30m
		readtimeout = 5s
		warningtimeout = 4h
		timeoutcheck = 1s
		retrywait = 1s
		hideprivilegedcommands = yes
		hideregisteredcommands = yes
	}
	log
	{
		target = "services.log"
		bot = "Global"
		logage = 1
		other = "*"
	}
	mail
	{
		usemail = no
	}
	module
	{
		name = "enc_sha256"
	}
	module
	{
		name = "db_flatfile"
		database = "anope.db"
		keepbackups = 0
		fork = no
	}
	module
	{
		name = "m_sasl"
	}
	include
	{
		type = "file"
		name = "nickserv.conf"
	}
	EOF
	# Written one block a line, then expanded to one item a line for Anope.
	sed -e 's/ { /\n{\n\t/; s/; /\n\t/g; s/ }$/\n}/' >"$d/conf/nickserv.conf" <<-'EOF'
	service { nick = "NickServ"; user = "services"; host = "services.host"; gecos = "Nickname Registration Service" }
	module { name = "nickserv"; client = "NickServ"; forceemail = no; confirmemailchanges = no; unregistered_notice = ""; registration = "none"; defaults = "ns_secure ns_private hide_email hide_mask memo_signon memo_receive"; regdelay = 0s; restrictopernicks = no; guestnickprefix = "Guest"; nonicknameownership = yes; releasetimeout = 1m; hidenetsplitquit = no; passlen = 32; maxaliases = 16; accessmax = 32; nickregdelay = 0 }
	command { service = "NickServ"; name = "HELP"; command = "generic/help" }
	module { name = "ns_register"; registration = "none" }
	command { service = "NickServ"; name = "REGISTER"; command = "nickserv/register" }
	module { name = "ns_identify"; maxlogins = 10 }
	command { service = "NickServ"; name = "IDENTIFY"; command = "nickserv/identify" }
	module { name = "ns_cert"; max = 5 }
	command { service = "NickServ"; name = "CERT"; command = "nickserv/cert" }
	EOF
	# Anope sleeps 3 s at start when it runs as root: run it as nobody.
	local as=()
	if [ "$(id -u)" = 0 ]; then
		chmod 711 "$WORK" "$WORK/$name"
		chown -R nobody "$d"
		as=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
	fi
	(ulimit -c 0; cd "$d" && exec "${as[@]}" anope --nofork --confdir="$d/conf" --dbdir="$d/data" \
		--logdir="$d/logs" --modulesdir=/usr/lib/anope >"$d/anope.out" 2>&1) &
	local pid=$!
	track_pid "$pid"
	printf -v "${name}_ANOPE_PID" %s "$pid"
	# Linked when the ircd advertises sasl (InspIRCd hides it until then).
	local port=${name}_PORT i
	for ((i = 0; i < 200; i++)); do
		kill -0 "$pid" 2>/dev/null || { tail -n 30 "$d/anope.out" "$d/logs/"* >&2 2>/dev/null; die "anope exited (log: $d)"; }
		if $PY "$IRC_DIR/ircclient.py" caps 127.0.0.1 "${!port}" 2>/dev/null | grep -qw sasl; then
			return 0
		fi
		sleep 0.05
	done
	tail -n 30 "$d/anope.out" "$d/logs/"* >&2 2>/dev/null
	die "anope did not link to inspircd in 10s: no sasl capability (log: $d)"
}

# bot_start CONFIG [LOG]: starts `faqbot run -c CONFIG` in the background
# (stderr to LOG, default $WORK/bot.log); sets BOT_PID and BOT_LOG.
# The tests run build/faqbot-asan (ASan + UBSan) when it is there and not
# older than ./faqbot (`make test` builds both); FAQBOT_RUN names another.
bot_start() {
	local conf=$1
	BOT_LOG=${2:-$WORK/bot.log}
	local bin=${FAQBOT_RUN:-}
	if [ -z "$bin" ]; then
		bin=$FAQBOT
		[ -x "$ROOT/build/faqbot-asan" ] && [ ! "$ROOT/build/faqbot-asan" -ot "$FAQBOT" ] &&
			bin=$ROOT/build/faqbot-asan
	fi
	export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
	[ -x "$bin" ] || die "$bin is missing: build it with make faqbot"
	chmod 600 "$conf"
	"$bin" run -c "$conf" >>"$BOT_LOG" 2>&1 &
	BOT_PID=$!
	track_pid "$BOT_PID"
	sleep 0.1
	kill -0 "$BOT_PID" 2>/dev/null || { cat "$BOT_LOG" >&2; die "$bin run -c $conf exited at once"; }
	log "started $(basename "$bin") run -c $conf (pid $BOT_PID)"
	export BOT_PID BOT_LOG
}
