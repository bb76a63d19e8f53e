/* curl_floor.c - the memory floor of any libcurl client on this machine:
 * a C program that does nothing but one HTTP GET of argv[1] with Debian's
 * libcurl (curl_global_init, one easy handle), then prints its peak
 * resident memory (VmHWM) in KiB, before and after.  30-matrix.sh prints
 * it beside faqbot's and the nio bot's peaks: what of faqbot's memory
 * comes with the libcurl the Matrix issue asks for. */
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

static size_t sink(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

static long hwm_kib(void)
{
	char line[256];
	long v = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "VmHWM: %ld", &v) == 1)
			break;
	fclose(f);
	return v;
}

int main(int argc, char **argv)
{
	long at_start = hwm_kib();
	CURL *c;
	CURLcode rc;

	if (argc != 2) {
		fprintf(stderr, "usage: curl_floor URL\n");
		return 2;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || !(c = curl_easy_init()))
		return 1;
	curl_easy_setopt(c, CURLOPT_URL, argv[1]);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
	rc = curl_easy_perform(c);
	curl_easy_cleanup(c);
	curl_global_cleanup();
	if (rc != CURLE_OK) {
		fprintf(stderr, "curl_floor: %s\n", curl_easy_strerror(rc));
		return 1;
	}
	printf("%ld %ld\n", at_start, hwm_kib());
	return 0;
}
