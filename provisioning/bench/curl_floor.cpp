// The memory floor of "HTTP through libcurl": a program that only initialises libcurl as plumb-provision does and
// exits. plumb_bench_provision prints its peak RSS beside the provisioner's, so the figure says how much of the
// provisioner's RSS is its own and how much is libcurl and the libraries Debian's libcurl4 loads with it (OpenSSL's
// libcrypto, GnuTLS through librtmp, Kerberos, LDAP, ...).
#include <curl/curl.h>

int main() {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return 1;
    CURL* handle = curl_easy_init();
    if (!handle) return 1;
    curl_easy_cleanup(handle);
    curl_global_cleanup();
    return 0;
}
