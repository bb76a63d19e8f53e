/* run.h - `faqbot run -c config.ini [-k knowledge-dir]`: loads the config
 * and the knowledge, starts every network on one loop, reloads on SIGHUP
 * (a broken reload is refused and the old knowledge keeps serving), and
 * on SIGTERM/SIGINT quits every network and exits 0 (at most 3 s later). */
#ifndef FAQBOT_RUN_H
#define FAQBOT_RUN_H

/* argv[0] is "run".  Returns the process exit status: 0 after a clean
 * stop, 1 on a config or knowledge error (message on stderr), 2 on a
 * usage error. */
int run_main(int argc, char **argv);
/* The knowledge directory used when neither -k nor the config's knowledge
 * key names one (an installed build: its share/faqbot); default: the
 * config's default, "knowledge" beside the config file. */
void run_set_default_knowledge(const char *dir);
/* `faqbot report ...` (report.c): here so that the IRC-only build, which
 * does not link SQLite, refuses it instead of loading it. */
int run_report(int argc, char **argv);

#endif
