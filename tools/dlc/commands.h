// The dlc subcommands. Each takes its arguments (after the command name)
// and returns the process exit code; errors propagate as exceptions that
// main() turns into messages and exit codes (1 user error, 2 internal).
#pragma once

#include <string>
#include <vector>

namespace dlc::tools {

int cmdInspect(const std::vector<std::string>& args);
int cmdRun(const std::vector<std::string>& args);
int cmdCompile(const std::vector<std::string>& args);
int cmdBench(const std::vector<std::string>& args);
int cmdConformance(const std::vector<std::string>& args);
int cmdVersion(const std::vector<std::string>& args);
int cmdTrain(const std::vector<std::string>& args);

std::string jsonEscape(const std::string& s);

}  // namespace dlc::tools
