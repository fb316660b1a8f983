// fetch_imds against a real loopback HTTP server scripted per test: the header it must send, which statuses and
// bodies are retried, which fail at once, and that the total deadline holds whatever the server does.
#include <gtest/gtest.h>

#include <chrono>

#include "imds.hpp"
#include "provision_fixture.hpp"

using namespace plumb::provision;
using namespace std::chrono_literals;
using plumb::test::HttpServer;
using plumb::test::ImdsDoc;
using plumb::test::RecordedRequest;
using plumb::test::Reply;

namespace {

const std::string kPath = "/metadata/instance?api-version=2023-11-15&extended=true";

ProvisionConfig config_for(const HttpServer& server, std::chrono::milliseconds deadline = 2000ms,
                           std::chrono::milliseconds attempt = 500ms) {
    ProvisionConfig c;
    c.imds_url = server.url(kPath);
    c.imds_retry = {20ms, deadline, attempt};
    return c;
}

std::string good_body() {
    ImdsDoc d;
    d.keys = {{plumb::test::ed25519_public_key(1), ""}};
    return plumb::test::imds_json(d);
}

double elapsed_ms(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

TEST(ProvisionImdsHttp, SendsMetadataHeaderToTheConfiguredUrl) {
    HttpServer imds([](const RecordedRequest&, int) { return Reply{200, good_body()}; });
    auto m = fetch_imds(config_for(imds));
    ASSERT_TRUE(m) << m.error().message;
    EXPECT_EQ(m->admin_username, "azureuser");
    auto reqs = imds.requests();
    ASSERT_EQ(reqs.size(), 1u);
    EXPECT_EQ(reqs[0].method, "GET");
    EXPECT_EQ(reqs[0].target, kPath);
    EXPECT_EQ(reqs[0].header("metadata"), "true");
}

TEST(ProvisionImdsHttp, RetriesTransientStatusesThenSucceeds) {
    for (int status : {400, 404, 410, 429, 500, 503}) {
        HttpServer imds([status](const RecordedRequest&, int i) { return i < 2 ? Reply{status, "{}"} : Reply{200, good_body()}; });
        auto m = fetch_imds(config_for(imds));
        ASSERT_TRUE(m) << status << ": " << m.error().message;
        EXPECT_EQ(imds.requests().size(), 3u) << status;
    }
}

TEST(ProvisionImdsHttp, FailsAtOnceOnAuthorizationAndMethodErrors) {
    for (int status : {401, 403, 405}) {
        HttpServer imds([status](const RecordedRequest&, int) { return Reply{status, "{}"}; });
        auto t0 = std::chrono::steady_clock::now();
        auto m = fetch_imds(config_for(imds));
        ASSERT_FALSE(m) << status;
        EXPECT_NE(m.error().message.find("HTTP " + std::to_string(status)), std::string::npos) << m.error().message;
        EXPECT_EQ(imds.requests().size(), 1u) << status;
        EXPECT_LT(elapsed_ms(t0), 500.0);
    }
}

TEST(ProvisionImdsHttp, SlowResponseBeyondTheAttemptTimeoutIsRetried) {
    HttpServer imds([](const RecordedRequest&, int i) {
        Reply r{200, good_body()};
        if (i == 0) r.delay = 600ms;  // longer than the 200 ms attempt timeout
        return r;
    });
    auto m = fetch_imds(config_for(imds, 3000ms, 200ms));
    ASSERT_TRUE(m) << m.error().message;
    EXPECT_GE(imds.requests().size(), 2u);
}

TEST(ProvisionImdsHttp, SlowResponseWithinTheAttemptTimeoutIsTaken) {
    HttpServer imds([](const RecordedRequest&, int) {
        Reply r{200, good_body()};
        r.delay = 150ms;
        return r;
    });
    auto m = fetch_imds(config_for(imds, 3000ms, 1000ms));
    ASSERT_TRUE(m) << m.error().message;
    EXPECT_EQ(imds.requests().size(), 1u);
}

TEST(ProvisionImdsHttp, MalformedJsonIsRetriedUntilTheDeadline) {
    std::string body = good_body();
    HttpServer imds([&](const RecordedRequest&, int) { return Reply{200, body.substr(0, body.size() - 7)}; });
    auto t0 = std::chrono::steady_clock::now();
    // Margins for a loaded 2-core machine running the suite under ASan: 20 ms between attempts, 800 ms in all.
    auto m = fetch_imds(config_for(imds, 800ms, 200ms));
    double took = elapsed_ms(t0);
    ASSERT_FALSE(m);
    EXPECT_EQ(m.error().code, EBADMSG) << m.error().message;
    EXPECT_NE(m.error().message.find("not valid JSON"), std::string::npos) << m.error().message;
    EXPECT_GE(imds.requests().size(), 3u);
    EXPECT_LT(took, 2000.0);
}

TEST(ProvisionImdsHttp, MalformedThenGoodSucceeds) {
    HttpServer imds([](const RecordedRequest&, int i) { return i == 0 ? Reply{200, "{\"compute\": {"} : Reply{200, good_body()}; });
    auto m = fetch_imds(config_for(imds));
    ASSERT_TRUE(m) << m.error().message;
    EXPECT_EQ(imds.requests().size(), 2u);
}

TEST(ProvisionImdsHttp, NeverAnsweringServerCannotOutlastTheDeadline) {
    HttpServer imds([](const RecordedRequest&, int) {
        Reply r;
        r.hang = true;
        return r;
    });
    auto t0 = std::chrono::steady_clock::now();
    auto m = fetch_imds(config_for(imds, 600ms, 10000ms));  // attempt timeout longer than the deadline
    double took = elapsed_ms(t0);
    ASSERT_FALSE(m);
    EXPECT_EQ(m.error().code, ETIMEDOUT) << m.error().message;
    EXPECT_GE(took, 550.0);
    EXPECT_LT(took, 1200.0) << "the deadline was not honoured";
}

TEST(ProvisionImdsHttp, ConnectionRefusedIsRetriedUntilTheDeadline) {
    ProvisionConfig c;
    c.imds_url = "http://127.0.0.1:9/metadata/instance";
    c.imds_retry = {20ms, 300ms, 100ms};
    auto t0 = std::chrono::steady_clock::now();
    auto m = fetch_imds(c);
    ASSERT_FALSE(m);
    EXPECT_NE(m.error().message.find("gave up after"), std::string::npos) << m.error().message;
    EXPECT_LT(elapsed_ms(t0), 1000.0);
}

TEST(ProvisionImdsHttp, GiganticResponseFailsAtOnce) {
    HttpServer imds([](const RecordedRequest&, int) { return Reply{200, std::string(3u << 20, ' ')}; });
    auto c = config_for(imds);
    c.imds_max_response = 1u << 20;
    auto m = fetch_imds(c);
    ASSERT_FALSE(m);
    EXPECT_EQ(m.error().code, EFBIG) << m.error().message;
    EXPECT_EQ(imds.requests().size(), 1u);
}

TEST(ProvisionImdsHttp, NoProxyIsEverUsed) {
    // A proxy in the environment must not see IMDS traffic (metadata carries secrets).
    HttpServer proxy([](const RecordedRequest&, int) { return Reply{502, ""}; });
    HttpServer imds([](const RecordedRequest&, int) { return Reply{200, good_body()}; });
    setenv("http_proxy", proxy.url().c_str(), 1);
    setenv("HTTP_PROXY", proxy.url().c_str(), 1);
    auto m = fetch_imds(config_for(imds));
    unsetenv("http_proxy");
    unsetenv("HTTP_PROXY");
    ASSERT_TRUE(m) << m.error().message;
    EXPECT_TRUE(proxy.requests().empty());
}
