// Plugins export ses_plugin_entry and nothing else: the version script that
// ses_add_plugin applies hides even symbols marked visibility("default"), so
// two plugins built from the same sources can never bind to each other.
#include <dlfcn.h>
#include <elf.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace ses::loader_test {
namespace {

using ::testing::ElementsAre;

// dlopen'ed for one test; closed when it ends.
class Library {
 public:
  explicit Library(const std::string& path) : handle_(::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL)) {}
  ~Library() {
    if (handle_ != nullptr) ::dlclose(handle_);
  }
  Library(const Library&) = delete;
  Library& operator=(const Library&) = delete;

  bool ok() const { return handle_ != nullptr; }
  void* Find(const char* symbol) const { return ::dlsym(handle_, symbol); }

 private:
  void* handle_;
};

TEST(ExportsTest, VersionScriptHidesADefaultVisibilityHelper) {
  Library plugin(SES_FIXTURE_RAW);
  ASSERT_TRUE(plugin.ok()) << ::dlerror();
  EXPECT_NE(plugin.Find("ses_plugin_entry"), nullptr);
  EXPECT_EQ(plugin.Find("ses_fixture_helper"), nullptr);
}

// The control: the same declaration in a library built without the version
// script is found, so the test above fails if the script stops being applied.
TEST(ExportsTest, HelperIsFoundWhereNoVersionScriptHidesIt) {
  Library library(SES_FIXTURE_NO_ENTRY);
  ASSERT_TRUE(library.ok()) << ::dlerror();
  auto* helper = reinterpret_cast<int (*)()>(library.Find("ses_fixture_helper"));
  ASSERT_NE(helper, nullptr);
  EXPECT_EQ(helper(), 7);
}

template <typename T>
bool ReadAt(const std::vector<char>& file, uint64_t offset, T& out) {
  if (offset > file.size() || file.size() - offset < sizeof(T)) return false;
  std::memcpy(&out, file.data() + offset, sizeof(T));
  return true;
}

// The names in `path`'s dynamic symbol table that other objects could bind
// to (defined, not local): what dlsym can find, read straight from the ELF
// file rather than by guessing names to look up. 64-bit ELF only, which is
// all this project builds; any malformation fails the calling test.
std::set<std::string> DynamicExports(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  Elf64_Ehdr header;
  if (!ReadAt(file, 0, header) || std::memcmp(header.e_ident, ELFMAG, SELFMAG) != 0 ||
      header.e_ident[EI_CLASS] != ELFCLASS64) {
    ADD_FAILURE() << path << " is not a 64-bit ELF file";
    return {};
  }
  auto section = [&](size_t index, Elf64_Shdr& out) {
    return ReadAt(file, header.e_shoff + index * header.e_shentsize, out);
  };
  std::set<std::string> names;
  bool found_dynsym = false;
  for (size_t i = 0; i < header.e_shnum; ++i) {
    Elf64_Shdr dynsym, strtab;
    if (!section(i, dynsym)) break;
    if (dynsym.sh_type != SHT_DYNSYM) continue;
    found_dynsym = true;
    if (!section(dynsym.sh_link, strtab) || strtab.sh_offset + strtab.sh_size > file.size()) {
      ADD_FAILURE() << path << ": bad string table for .dynsym";
      return {};
    }
    for (uint64_t off = sizeof(Elf64_Sym); off + sizeof(Elf64_Sym) <= dynsym.sh_size; off += sizeof(Elf64_Sym)) {
      Elf64_Sym sym;
      if (!ReadAt(file, dynsym.sh_offset + off, sym) || sym.st_name >= strtab.sh_size) {
        ADD_FAILURE() << path << ": bad .dynsym entry";
        return {};
      }
      if (sym.st_shndx == SHN_UNDEF || ELF64_ST_BIND(sym.st_info) == STB_LOCAL) continue;
      const char* name = file.data() + strtab.sh_offset + sym.st_name;
      names.insert(std::string(name, strnlen(name, strtab.sh_size - sym.st_name)));
    }
  }
  if (!found_dynsym) ADD_FAILURE() << path << " has no .dynsym";
  return names;
}

TEST(ExportsTest, ElfScanSeesEveryExportOfAnUnscriptedLibrary) {
  // The control for the scans below: without a version script the helper is
  // in the table, so an empty result there would mean a broken scanner.
  EXPECT_THAT(DynamicExports(SES_FIXTURE_NO_ENTRY), ::testing::Contains("ses_fixture_helper"));
}

TEST(ExportsTest, RealPluginsExportOnlyTheEntryPoint) {
  const std::filesystem::path dir = SES_TEST_PLUGIN_DIR;
  EXPECT_THAT(DynamicExports((dir / "ses_keyfile.so").string()), ElementsAre("ses_plugin_entry"));
  EXPECT_THAT(DynamicExports((dir / "ses_cipher-openssl.so").string()), ElementsAre("ses_plugin_entry"));
  EXPECT_THAT(DynamicExports((dir / "ses_store-sqlite.so").string()), ElementsAre("ses_plugin_entry"));
}

// The adapter instantiates templates, throws and catches, and uses inline
// statics: the places where a stray weak or unique symbol would come from.
TEST(ExportsTest, AdapterBuiltPluginExportsOnlyTheEntryPoint) {
  EXPECT_THAT(DynamicExports(SES_FIXTURE_FAKE), ElementsAre("ses_plugin_entry"));
}

}  // namespace
}  // namespace ses::loader_test
