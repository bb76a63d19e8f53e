/* fuzz_e2ee.c - the Olm / Megolm envelope parsing of e2ee.c on hostile
 * JSON: to-device m.room.encrypted events (Olm), room events (Megolm),
 * /keys/query, /keys/claim and /keys/upload answers, and a device-keys
 * object to verify.  Byte 0 picks the entry point; the state lives in an
 * in-memory SQLite database opened once (a real libolm account).  Nothing
 * forged may decrypt: a decryption is only possible with our keys, so any
 * success here aborts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>

#include "e2ee.h"
#include "log.h"

static sqlite3 *db;
static struct e2ee *e;

static void init(void)
{
	char err[256];
	log_set_level(LOGL_ERROR);
	if (sqlite3_open(":memory:", &db) != SQLITE_OK)
		abort();
	e = e2ee_open(db, "@faqbot:example.org", "FUZZDEVICE", "fuzz pickle key", err, sizeof err);
	if (!e)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	if (!e)
		init();
	if (size < 1)
		return 0;
	uint8_t op = data[0] % 6;
	const char *s = (const char *)data + 1;
	size_t n = size - 1;
	if (op == 2) {
		e2ee_keys_query_done(e, s, n, err, sizeof err);
		return 0;
	}
	if (op == 3) {
		e2ee_keys_claim_done(e, s, n);
		return 0;
	}
	if (op == 5) {
		e2ee_keys_upload_done(e, s, n);
		return 0;
	}
	cJSON *j = cJSON_ParseWithLength(s, n);
	if (!j)
		return 0;
	if (op == 0) {
		cJSON *p = e2ee_olm_decrypt(e, j, err, sizeof err);
		if (p)
			abort(); /* no one but us holds our keys */
	} else if (op == 1) {
		int st = 0;
		const char *room = "!room:example.org";
		const cJSON *r = cJSON_GetObjectItemCaseSensitive(j, "room_id");
		if (cJSON_IsString(r))
			room = r->valuestring;
		cJSON *p = e2ee_megolm_decrypt(e, room, j, &st, err, sizeof err);
		if (p || st == 0)
			abort();
	} else {
		const cJSON *u = cJSON_GetObjectItemCaseSensitive(j, "user_id");
		const cJSON *d = cJSON_GetObjectItemCaseSensitive(j, "device_id");
		e2ee_device_verify(j, cJSON_IsString(u) ? u->valuestring : "@a:b",
				   cJSON_IsString(d) ? d->valuestring : "DEV", err, sizeof err);
	}
	cJSON_Delete(j);
	return 0;
}
