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
// The multi handle's socket and timer callbacks (curl_multi_socket_action).
static inline CURLMcode canal_curl_multi_setopt_ptr(CURLM *handle, CURLMoption option, void *value) {
    return curl_multi_setopt(handle, option, value);
}
static inline CURLMcode canal_curl_multi_setopt_socket_function(CURLM *handle, curl_socket_callback callback) {
    return curl_multi_setopt(handle, CURLMOPT_SOCKETFUNCTION, callback);
}
static inline CURLMcode canal_curl_multi_setopt_timer_function(CURLM *handle, curl_multi_timer_callback callback) {
    return curl_multi_setopt(handle, CURLMOPT_TIMERFUNCTION, callback);
}
static inline CURLcode canal_curl_easy_setopt_closesocket_function(CURL *handle, curl_closesocket_callback callback) {
    return curl_easy_setopt(handle, CURLOPT_CLOSESOCKETFUNCTION, callback);
}
static inline curl_socket_t canal_curl_socket_timeout(void) { return CURL_SOCKET_TIMEOUT; }

// The loop's readiness set: epoll (whose event struct is packed on x86-64), an eventfd to wake it
// and a timerfd for curl's timer.
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>
#include <errno.h>
static inline int canal_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }
/// Sets the events of `fd` (EPOLLIN/EPOLLOUT bits; 0 removes it). Returns 0 or -errno.
static inline int canal_epoll_set(int ep, int fd, int registered, unsigned events) {
    struct epoll_event e = { .events = events, .data = { .fd = fd } };
    int op = events == 0 ? EPOLL_CTL_DEL : (registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD);
    int r = epoll_ctl(ep, op, fd, &e);
    if (r != 0 && errno == ENOENT && op == EPOLL_CTL_MOD) r = epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
    if (r != 0 && errno == EEXIST && op == EPOLL_CTL_ADD) r = epoll_ctl(ep, EPOLL_CTL_MOD, fd, &e);
    return r == 0 ? 0 : -errno;
}
/// Waits for up to `max` events; returns their count (0 on EINTR) with each one's fd and curl's
/// CURL_CSELECT_* flags.
static inline int canal_epoll_wait(int ep, int *fds, int *flags, int max, int timeout_ms) {
    struct epoll_event events[64];
    if (max > 64) max = 64;
    int n = epoll_wait(ep, events, max, timeout_ms);
    if (n < 0) return 0;
    for (int i = 0; i < n; i++) {
        fds[i] = events[i].data.fd;
        unsigned e = events[i].events;
        flags[i] = ((e & (EPOLLIN | EPOLLHUP | EPOLLRDHUP)) ? CURL_CSELECT_IN : 0) | ((e & EPOLLOUT) ? CURL_CSELECT_OUT : 0)
            | ((e & EPOLLERR) ? CURL_CSELECT_ERR : 0);
    }
    return n;
}
static inline unsigned canal_epoll_in(void) { return EPOLLIN; }
static inline unsigned canal_epoll_out(void) { return EPOLLOUT; }
static inline int canal_eventfd(void) { return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); }
static inline void canal_eventfd_signal(int fd) { uint64_t one = 1; (void)!write(fd, &one, sizeof one); }
static inline void canal_fd_drain(int fd) { uint64_t value; (void)!read(fd, &value, sizeof value); }
static inline int canal_timerfd(void) { return timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC); }
/// Arms the timer at `nanos` on CLOCK_MONOTONIC (absolute).
static inline void canal_timerfd_arm(int fd, long long nanos) {
    struct itimerspec t = { .it_value = { .tv_sec = nanos / 1000000000LL, .tv_nsec = nanos % 1000000000LL } };
    if (t.it_value.tv_sec == 0 && t.it_value.tv_nsec == 0) t.it_value.tv_nsec = 1;
    timerfd_settime(fd, TFD_TIMER_ABSTIME, &t, NULL);
}
static inline long long canal_monotonic_nanos(void) {
    struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}
#endif
