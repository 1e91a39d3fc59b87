// Test entry point: doctest, plus the child modes used by the multi-process tests
// (`sciqlop_cache_tests --child <mode> args...`). A run whose filters match no test case
// fails, so that a misspelled suite name in CMakeLists.txt cannot pass silently.
#define DOCTEST_CONFIG_IMPLEMENT
#include "test_support.hpp"

#include <cstdio>
#include <string_view>

namespace
{
unsigned g_test_cases_run = 0;

struct RunCounter : doctest::IReporter
{
    explicit RunCounter(const doctest::ContextOptions&) {}
    void report_query(const doctest::QueryData&) override {}
    void test_run_start() override {}
    void test_run_end(const doctest::TestRunStats& stats) override { g_test_cases_run = stats.numTestCasesPassingFilters; }
    void test_case_start(const doctest::TestCaseData&) override {}
    void test_case_reenter(const doctest::TestCaseData&) override {}
    void test_case_end(const doctest::CurrentTestCaseStats&) override {}
    void test_case_exception(const doctest::TestCaseException&) override {}
    void subcase_start(const doctest::SubcaseSignature&) override {}
    void subcase_end() override {}
    void log_assert(const doctest::AssertData&) override {}
    void log_message(const doctest::MessageData&) override {}
    void test_case_skipped(const doctest::TestCaseData&) override {}
};
REGISTER_LISTENER("run_counter", 1, RunCounter);
}

int main(int argc, char** argv)
{
    test::set_self_executable(argv[0]);
    if (argc >= 2 && std::string_view(argv[1]) == "--child")
        return test::run_child_mode(argc - 2, argv + 2);

    doctest::Context context(argc, argv);
    const int rc = context.run();
    if (context.shouldExit())
        return rc;
    if (rc == 0 && g_test_cases_run == 0)
    {
        std::fprintf(stderr, "no test case matched the filters\n");
        return 1;
    }
    return rc;
}
