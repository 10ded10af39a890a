// fake_cuda_emulate SOURCE OUT.so: the host emulation of a CUDA program (a
// .cu file or `dlc inspect --target cuda --cuda-source` output) for the fake
// CUDA driver (DLC_FAKE_CUDA_PROGRAM=OUT.so), for shell tests.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>

#include "tests/cuda/fake_cuda/emulation_builder.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: fake_cuda_emulate SOURCE.cu OUT.so\n";
    return 1;
  }
  std::ifstream in(argv[1], std::ios::binary);
  if (!in) {
    std::cerr << "fake_cuda_emulate: cannot read " << argv[1] << "\n";
    return 1;
  }
  std::string text((std::istreambuf_iterator<char>(in)), {});
  try {
    std::filesystem::path out = std::filesystem::absolute(argv[2]);
    std::filesystem::path so = dlc::testing::fake_cuda::buildEmulation(text, out.parent_path() / ".fake_cuda_build");
    std::filesystem::copy_file(so, out, std::filesystem::copy_options::overwrite_existing);
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
  return 0;
}
