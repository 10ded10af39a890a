#include "tests/cuda/fake_cuda/cuda_image.h"

#include <elf.h>

#include <cstring>
#include <string_view>

namespace dlc::testing::fake_cuda {

namespace {

// CUDA marks kernel entry symbols with this bit of st_other.
constexpr unsigned char kCudaEntry = 0x10;

std::set<std::string> cubinKernels(const char* base) {
  Elf64_Ehdr eh;
  std::memcpy(&eh, base, sizeof eh);
  auto section = [&](size_t i) {
    Elf64_Shdr sh;
    std::memcpy(&sh, base + eh.e_shoff + i * eh.e_shentsize, sizeof sh);
    return sh;
  };
  std::set<std::string> entries, texts;
  for (size_t i = 0; i < eh.e_shnum; ++i) {
    Elf64_Shdr sh = section(i);
    if (eh.e_shstrndx < eh.e_shnum) {
      std::string_view name = base + section(eh.e_shstrndx).sh_offset + sh.sh_name;
      if (name.substr(0, 6) == ".text.") texts.insert(std::string(name.substr(6)));
    }
    if (sh.sh_type != SHT_SYMTAB || sh.sh_entsize != sizeof(Elf64_Sym)) continue;
    const char* strings = base + section(sh.sh_link).sh_offset;
    for (size_t j = 0; j < sh.sh_size / sizeof(Elf64_Sym); ++j) {
      Elf64_Sym sym;
      std::memcpy(&sym, base + sh.sh_offset + j * sizeof sym, sizeof sym);
      if (ELF64_ST_TYPE(sym.st_info) == STT_FUNC && (sym.st_other & kCudaEntry)) entries.insert(strings + sym.st_name);
    }
  }
  return entries.empty() ? texts : entries;
}

// ".visible .entry NAME(" lines.
std::set<std::string> ptxKernels(std::string_view ptx) {
  std::set<std::string> out;
  for (size_t at = ptx.find(".entry "); at != std::string_view::npos; at = ptx.find(".entry ", at + 1)) {
    size_t begin = at + 7, end = begin;
    while (end < ptx.size() && ptx[end] != '(' && ptx[end] != ' ' && ptx[end] != '\n') ++end;
    out.insert(std::string(ptx.substr(begin, end - begin)));
  }
  return out;
}

}  // namespace

std::optional<std::set<std::string>> imageKernels(const void* image) {
  if (!image) return std::nullopt;
  const char* p = static_cast<const char*>(image);
  if (std::memcmp(p, ELFMAG, SELFMAG) == 0) {
    if (p[EI_CLASS] != ELFCLASS64) return std::nullopt;
    return cubinKernels(p);
  }
  std::string_view text(p);  // PTX is NUL-terminated text
  if (text.find(".version") == std::string_view::npos) return std::nullopt;
  return ptxKernels(text);
}

}  // namespace dlc::testing::fake_cuda
