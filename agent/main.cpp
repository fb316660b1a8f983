#include "plumb/cli.hpp"

int main(int argc, char** argv) { return plumb::run_cli(argc, argv); }
