/* The reference side of `canal-bench datastore`: a raw HTTP keep-alive loop over etcd's v3 JSON
 * gateway with libcurl, one easy handle (one connection) per thread. Each request's endpoint and
 * body are what Canal's EtcdKeyValueStore sends for the same operation (put: /v3/kv/put without
 * prev_kv; range: a linearizable /v3/kv/range of one key; cas: a txn comparing mod_revision, putting
 * on success and reading the key on failure), so both sides ask etcd for the same work. Each
 * response body is read whole (kept up to 4 KiB; a range of one key is ~200 bytes).
 * usage: raw_etcd URL OP(put|range|cas) THREADS SECONDS ; prints the total number of operations. */
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *url_base, *op;
static double seconds;

struct buf { char data[4096]; size_t len; };

static size_t sink(char *p, size_t s, size_t n, void *u) {
    struct buf *b = u; size_t k = s * n;
    if (b->len + k < sizeof b->data) { memcpy(b->data + b->len, p, k); b->len += k; b->data[b->len] = 0; }
    return k;
}

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }

static void b64(const char *in, char *out) {
    static const char *t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t n = strlen(in), o = 0;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned char)in[i] << 16 | (i + 1 < n ? (unsigned char)in[i + 1] << 8 : 0) | (i + 2 < n ? (unsigned char)in[i + 2] : 0);
        out[o++] = t[v >> 18 & 63]; out[o++] = t[v >> 12 & 63];
        out[o++] = i + 1 < n ? t[v >> 6 & 63] : '='; out[o++] = i + 2 < n ? t[v & 63] : '=';
    }
    out[o] = 0;
}

static long long revision_of(const char *body) {
    const char *p = strstr(body, "\"revision\":\"");
    return p ? atoll(p + 12) : 0;
}

static void *worker(void *arg) {
    long id = (long)arg;
    char key[64], k64[128], v64[128], url[512], body[1024];
    snprintf(key, sizeof key, "/bench/raw/%s/%ld", op, id);
    b64(key, k64); b64("value-0123456789", v64);
    CURL *c = curl_easy_init();
    struct buf b;
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
    /* As Canal's client: without it curl installs and removes a SIGPIPE handler around every
     * request (8 rt_sigaction calls each), a cost Canal does not pay. */
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    /* Seed the key (and learn its revision for CAS). */
    snprintf(url, sizeof url, "%s/v3/kv/put", url_base);
    snprintf(body, sizeof body, "{\"key\":\"%s\",\"value\":\"%s\"}", k64, v64);
    curl_easy_setopt(c, CURLOPT_URL, url); curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    b.len = 0; curl_easy_perform(c);
    long long rev = revision_of(b.data);
    if (!strcmp(op, "range")) {
        snprintf(url, sizeof url, "%s/v3/kv/range", url_base);
        snprintf(body, sizeof body, "{\"key\":\"%s\"}", k64);
    } else if (!strcmp(op, "cas")) {
        snprintf(url, sizeof url, "%s/v3/kv/txn", url_base);
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    long count = 0;
    double end = now() + seconds;
    while (now() < end) {
        if (!strcmp(op, "cas")) {
            snprintf(body, sizeof body,
                "{\"compare\":[{\"key\":\"%s\",\"target\":\"MOD\",\"result\":\"EQUAL\",\"mod_revision\":\"%lld\"}],"
                "\"success\":[{\"request_put\":{\"key\":\"%s\",\"value\":\"%s\"}}],"
                "\"failure\":[{\"request_range\":{\"key\":\"%s\"}}]}", k64, rev, k64, v64, k64);
            curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        }
        b.len = 0;
        if (curl_easy_perform(c) != CURLE_OK) { fprintf(stderr, "request failed\n"); exit(1); }
        if (!strcmp(op, "cas")) {
            if (!strstr(b.data, "\"succeeded\":true")) { fprintf(stderr, "cas failed: %s\n", b.data); exit(1); }
            rev = revision_of(b.data);
        }
        count++;
    }
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return (void *)count;
}

int main(int argc, char **argv) {
    if (argc != 5) { fprintf(stderr, "usage: raw_etcd URL OP THREADS SECONDS\n"); return 2; }
    url_base = argv[1]; op = argv[2]; int threads = atoi(argv[3]); seconds = atof(argv[4]);
    curl_global_init(CURL_GLOBAL_ALL);
    pthread_t t[256];
    for (long i = 0; i < threads; i++) pthread_create(&t[i], NULL, worker, (void *)i);
    long total = 0;
    for (int i = 0; i < threads; i++) { void *r; pthread_join(t[i], &r); total += (long)r; }
    printf("%ld\n", total);
    return 0;
}
