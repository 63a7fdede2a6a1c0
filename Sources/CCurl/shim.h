#ifndef CANAL_CCURL_SHIM_H
#define CANAL_CCURL_SHIM_H
#include <curl/curl.h>

// curl_easy_setopt and curl_easy_getinfo are variadic and cannot be called from Swift:
// these typed wrappers can.
static inline CURLcode canal_curl_easy_setopt_long(CURL *handle, CURLoption option, long value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode canal_curl_easy_setopt_ptr(CURL *handle, CURLoption option, const void *value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode canal_curl_easy_getinfo_long(CURL *handle, CURLINFO info, long *value) {
    return curl_easy_getinfo(handle, info, value);
}
static inline CURLcode canal_curl_easy_setopt_write_function(CURL *handle, curl_write_callback callback) {
    return curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, callback);
}
static inline CURLcode canal_curl_easy_setopt_off_t(CURL *handle, CURLoption option, curl_off_t value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLMcode canal_curl_multi_setopt_long(CURLM *handle, CURLMoption option, long value) {
    return curl_multi_setopt(handle, option, value);
}
// Macros Swift cannot import (casts and or-ed constants).
static inline size_t canal_curl_writefunc_pause(void) { return CURL_WRITEFUNC_PAUSE; }
static inline int canal_curl_pause_cont(void) { return CURLPAUSE_CONT; }
static inline long canal_curl_global_all(void) { return CURL_GLOBAL_ALL; }
// CURLMsg.data is an anonymous union.
static inline CURLcode canal_curl_msg_result(const CURLMsg *msg) { return msg->data.result; }
static inline int canal_curl_msg_is_done(const CURLMsg *msg) { return msg->msg == CURLMSG_DONE; }
#endif
