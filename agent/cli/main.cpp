#include "cli.hpp"

int main(int argc, char** argv) { return plumb::cli::run_cli(argc, argv); }
