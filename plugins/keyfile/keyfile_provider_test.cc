#include "keyfile_provider.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <openssl/evp.h>

namespace ses::keyfile {
namespace {

using Bytes = std::vector<uint8_t>;

std::string Hex(std::span<const uint8_t> b) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s;
  for (uint8_t c : b) {
    s += kDigits[c >> 4];
    s += kDigits[c & 0xf];
  }
  return s;
}

Bytes Unhex(std::string_view hex) {
  Bytes out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<uint8_t>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

Bytes Sequence(uint8_t first, size_t n) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(first + i);
  return b;
}

std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

// Straight OpenSSL, independent of the provider: the reference for the KATs.
Bytes RawEvp(const char* cipher_name, bool wrap, std::span<const uint8_t> kek,
             std::span<const uint8_t> in) {
  EVP_CIPHER* cipher = EVP_CIPHER_fetch(nullptr, cipher_name, nullptr);
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  Bytes out(in.size() + 16);
  int len = 0;
  int fin = 0;
  EVP_CIPHER_CTX_set_flags(ctx, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
  bool ok = cipher != nullptr &&
            EVP_CipherInit_ex2(ctx, cipher, kek.data(), nullptr, wrap ? 1 : 0, nullptr) == 1 &&
            EVP_CipherUpdate(ctx, out.data(), &len, in.data(), static_cast<int>(in.size())) == 1 &&
            EVP_CipherFinal_ex(ctx, out.data() + len, &fin) == 1;
  EVP_CIPHER_CTX_free(ctx);
  EVP_CIPHER_free(cipher);
  if (!ok) return {};
  out.resize(static_cast<size_t>(len + fin));
  return out;
}

Bytes ToBytes(const SecretBytes& s) { return Bytes(s.data(), s.data() + s.size()); }

class KeyfileProviderTest : public testing::Test {
 protected:
  void SetUp() override {
    std::string base = testing::TempDir();
    if (!base.empty() && base.back() == '/') base.pop_back();
    std::string tmpl = base + "/keyfile_test_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    auto made = KeyfileProvider::Create({{"dir", dir_}});
    ASSERT_TRUE(made.ok()) << made.status().ToString();
    provider_ = std::move(made).value();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<KeyfileProvider> NewInstance() {
    auto made = KeyfileProvider::Create({{"dir", dir_}});
    EXPECT_TRUE(made.ok()) << made.status().ToString();
    return made.ok() ? std::move(made).value() : nullptr;
  }

  // Writes `name` in the test directory with `mode`; returns its path.
  std::string WriteKeyFile(const std::string& name, const std::string& contents,
                           mode_t mode = 0600) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::binary | std::ios::trunc) << contents;
    EXPECT_EQ(::chmod(path.c_str(), mode), 0);
    return path;
  }

  std::string ReadFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  std::string dir_;
  std::unique_ptr<KeyfileProvider> provider_;
};

const std::string kKekHex = Hex(Sequence(0x00, 32));
const std::string kKekHex2 = Hex(Sequence(0x80, 32));
const Bytes kDataKey = Sequence(0x40, 32);
const std::vector<uint8_t> kNoAad;

TEST_F(KeyfileProviderTest, UriSchemesIsKeyfile) {
  EXPECT_EQ(provider_->UriSchemes(), std::vector<std::string>{"keyfile"});
}

TEST_F(KeyfileProviderTest, CreatedKeyWrapsAndUnwrapsToTheSameDataKey) {
  auto created = provider_->CreateKey("keyfile://a.key");
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_EQ(*created, "keyfile://a.key");
  auto wrapped = provider_->Wrap("keyfile://a.key", kDataKey, kNoAad);
  ASSERT_TRUE(wrapped.ok()) << wrapped.status().ToString();
  EXPECT_NE(wrapped->wrapped, kDataKey);
  auto unwrapped = provider_->Unwrap("keyfile://a.key", wrapped->key_version, wrapped->wrapped,
                                     kNoAad);
  ASSERT_TRUE(unwrapped.ok()) << unwrapped.status().ToString();
  EXPECT_EQ(ToBytes(*unwrapped), kDataKey);
}

TEST_F(KeyfileProviderTest, WrappedThirtyTwoByteKeyIsFortyBytesUnderVersionOne) {
  ASSERT_TRUE(provider_->CreateKey("keyfile://a.key").ok());
  auto wrapped = provider_->Wrap("keyfile://a.key", kDataKey, kNoAad);
  ASSERT_TRUE(wrapped.ok()) << wrapped.status().ToString();
  EXPECT_EQ(wrapped->wrapped.size(), 40u);
  EXPECT_EQ(wrapped->key_version, "1");
}

TEST_F(KeyfileProviderTest, RawEvpHarnessReproducesTheRfc5649Vectors) {
  // RFC 5649 section 6 (192-bit KEK).
  const Bytes kek = Unhex("5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8");
  EXPECT_EQ(Hex(RawEvp("AES-192-WRAP-PAD", true, kek,
                       Unhex("c37b7e6492584340bed12207808941155068f738"))),
            "138bdeaa9b8fa7fc61f97742e72248ee5ae6ae5360d1ae6a5f54f373fa543b6a");
  EXPECT_EQ(Hex(RawEvp("AES-192-WRAP-PAD", true, kek, Unhex("466f7250617369"))),
            "afbeb0f07dfbf5419200f2ccb50bb24f");
  EXPECT_EQ(Hex(RawEvp("AES-192-WRAP-PAD", false, kek,
                       Unhex("afbeb0f07dfbf5419200f2ccb50bb24f"))),
            "466f7250617369");
}

TEST_F(KeyfileProviderTest, WrapMatchesRawAes256WrapPadAndAnIndependentVector) {
  WriteKeyFile("kat.key", "ses-keyfile v1\n1 " + kKekHex + "\n");
  const Bytes kek = Unhex(kKekHex);
  for (size_t len : {16u, 20u, 32u, 33u, 1024u}) {
    Bytes dk = Sequence(0x40, len);
    auto wrapped = provider_->Wrap("keyfile://kat.key", dk, kNoAad);
    ASSERT_TRUE(wrapped.ok()) << wrapped.status().ToString();
    EXPECT_EQ(wrapped->wrapped, RawEvp("AES-256-WRAP-PAD", true, kek, dk)) << len;
    EXPECT_EQ(wrapped->wrapped.size(), (len + 7) / 8 * 8 + 8) << len;
  }
  // Computed with the pure-Python RFC 5649 code of pyca/cryptography, so a
  // bug shared by OpenSSL and this harness would still show.
  auto wrapped = provider_->Wrap("keyfile://kat.key", kDataKey, kNoAad);
  ASSERT_TRUE(wrapped.ok());
  EXPECT_EQ(Hex(wrapped->wrapped),
            "6d10efa7ee3023460945c8a9886e7101353d66337100c5ff2bcb08bf790e9e202eaa28c31d721d87");
  // And the other direction: a raw wrap unwraps through the provider.
  Bytes raw = RawEvp("AES-256-WRAP-PAD", true, kek, Sequence(0x10, 20));
  auto unwrapped = provider_->Unwrap("keyfile://kat.key", "1", raw, kNoAad);
  ASSERT_TRUE(unwrapped.ok()) << unwrapped.status().ToString();
  EXPECT_EQ(ToBytes(*unwrapped), Sequence(0x10, 20));
}

TEST_F(KeyfileProviderTest, AadIsIgnored) {
  ASSERT_TRUE(provider_->CreateKey("keyfile://a.key").ok());
  const Bytes aad = {1, 2, 3};
  auto wrapped = provider_->Wrap("keyfile://a.key", kDataKey, aad);
  ASSERT_TRUE(wrapped.ok());
  auto plain = provider_->Wrap("keyfile://a.key", kDataKey, kNoAad);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(wrapped->wrapped, plain->wrapped);
  EXPECT_TRUE(provider_->Unwrap("keyfile://a.key", "1", wrapped->wrapped, Bytes{9}).ok());
}

TEST_F(KeyfileProviderTest, RotationMovesNewWrapsToVersionTwoAndKeepsVersionOne) {
  ASSERT_TRUE(provider_->CreateKey("keyfile://r.key").ok());
  auto v1 = provider_->Wrap("keyfile://r.key", kDataKey, kNoAad);
  ASSERT_TRUE(v1.ok());
  auto rotated = provider_->RotateKey("keyfile://r.key");
  ASSERT_TRUE(rotated.ok()) << rotated.status().ToString();
  EXPECT_EQ(*rotated, "2");

  auto v2 = provider_->Wrap("keyfile://r.key", kDataKey, kNoAad);
  ASSERT_TRUE(v2.ok());
  EXPECT_EQ(v2->key_version, "2");
  EXPECT_NE(v2->wrapped, v1->wrapped);  // a fresh key, not a copy of version 1
  auto old = provider_->Unwrap("keyfile://r.key", "1", v1->wrapped, kNoAad);
  ASSERT_TRUE(old.ok()) << old.status().ToString();
  EXPECT_EQ(ToBytes(*old), kDataKey);
  auto cur = provider_->Unwrap("keyfile://r.key", "2", v2->wrapped, kNoAad);
  ASSERT_TRUE(cur.ok());
  EXPECT_EQ(ToBytes(*cur), kDataKey);

  auto versions = provider_->ListVersions("keyfile://r.key");
  ASSERT_TRUE(versions.ok());
  EXPECT_EQ(*versions, (std::vector<std::string>{"1", "2"}));
}

TEST_F(KeyfileProviderTest, SecondInstanceSeesARotationMadeByAnother) {
  ASSERT_TRUE(provider_->CreateKey("keyfile://r.key").ok());
  auto other = NewInstance();
  ASSERT_NE(other, nullptr);
  // The first instance caches version 1 before the other rotates.
  auto before = provider_->Wrap("keyfile://r.key", kDataKey, kNoAad);
  ASSERT_TRUE(before.ok());
  EXPECT_EQ(before->key_version, "1");
  ASSERT_TRUE(other->RotateKey("keyfile://r.key").ok());

  auto after = provider_->Wrap("keyfile://r.key", kDataKey, kNoAad);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->key_version, "2");
  auto by_other = other->Unwrap("keyfile://r.key", "2", after->wrapped, kNoAad);
  ASSERT_TRUE(by_other.ok()) << by_other.status().ToString();
  EXPECT_EQ(ToBytes(*by_other), kDataKey);
  auto versions = provider_->ListVersions("keyfile://r.key");
  ASSERT_TRUE(versions.ok());
  EXPECT_EQ(*versions, (std::vector<std::string>{"1", "2"}));
}

TEST_F(KeyfileProviderTest, InPlaceEditOfACachedFileIsSeen) {
  std::string path = WriteKeyFile("e.key", "ses-keyfile v1\n1 " + kKekHex + "\n");
  ASSERT_TRUE(provider_->Wrap("keyfile://e.key", kDataKey, kNoAad).ok());
  std::ofstream(path, std::ios::app) << "5 " << kKekHex2 << "\n";
  auto wrapped = provider_->Wrap("keyfile://e.key", kDataKey, kNoAad);
  ASSERT_TRUE(wrapped.ok());
  EXPECT_EQ(wrapped->key_version, "5");
  EXPECT_EQ(wrapped->wrapped, RawEvp("AES-256-WRAP-PAD", true, Unhex(kKekHex2), kDataKey));
}

TEST_F(KeyfileProviderTest, ConcurrentRotationsFromSeveralProcessesLoseNoVersion) {
  ASSERT_TRUE(provider_->CreateKey("keyfile://c.key").ok());
  constexpr int kProcesses = 3;
  constexpr int kRotations = 15;
  std::vector<pid_t> children;
  for (int p = 0; p < kProcesses; ++p) {
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      auto mine = KeyfileProvider::Create({{"dir", dir_}});
      int failures = mine.ok() ? 0 : 1;
      for (int i = 0; i < kRotations && mine.ok(); ++i) {
        if (!(*mine)->RotateKey("keyfile://c.key").ok()) ++failures;
      }
      ::_exit(failures == 0 ? 0 : 1);
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  auto versions = provider_->ListVersions("keyfile://c.key");
  ASSERT_TRUE(versions.ok()) << versions.status().ToString();
  ASSERT_EQ(versions->size(), 1u + kProcesses * kRotations);
  for (size_t i = 0; i < versions->size(); ++i) EXPECT_EQ((*versions)[i], std::to_string(i + 1));
}

TEST_F(KeyfileProviderTest, ManyThreadsWrapAndUnwrapWhileAnotherRotates) {
  ASSERT_TRUE(provider_->CreateKey("keyfile://t.key").ok());
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 100; ++i) {
        auto w = provider_->Wrap("keyfile://t.key", kDataKey, kNoAad);
        if (!w.ok()) {
          ++failures;
          continue;
        }
        auto u = provider_->Unwrap("keyfile://t.key", w->key_version, w->wrapped, kNoAad);
        if (!u.ok() || ToBytes(*u) != kDataKey) ++failures;
      }
    });
  }
  threads.emplace_back([&] {
    for (int i = 0; i < 10; ++i) {
      if (!provider_->RotateKey("keyfile://t.key").ok()) ++failures;
    }
  });
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  auto versions = provider_->ListVersions("keyfile://t.key");
  ASSERT_TRUE(versions.ok());
  EXPECT_EQ(versions->size(), 11u);
}

TEST_F(KeyfileProviderTest, KeyFileOpenToGroupOrOthersIsRefusedWithChmodAdvice) {
  for (mode_t mode : {0644, 0640, 0604, 0610, 0601, 0660}) {
    std::string path = WriteKeyFile("open.key", "ses-keyfile v1\n1 " + kKekHex + "\n", mode);
    auto r = provider_->Wrap("keyfile://open.key", kDataKey, kNoAad);
    ASSERT_FALSE(r.ok()) << std::oct << mode;
    EXPECT_EQ(r.status().code(), StatusCode::kPermissionDenied);
    EXPECT_NE(r.status().message().find(path), std::string::npos) << r.status().message();
    EXPECT_NE(r.status().message().find("chmod 600"), std::string::npos);
  }
  std::string path = WriteKeyFile("open.key", "ses-keyfile v1\n1 " + kKekHex + "\n", 0644);
  auto r = provider_->ListVersions("keyfile://open.key");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "keyfile: " + path + " is accessible by group or others (mode 0644); chmod 600 it");
  // Owner-only modes stricter than 0600 are fine.
  WriteKeyFile("open.key", "ses-keyfile v1\n1 " + kKekHex + "\n", 0400);
  EXPECT_TRUE(provider_->Wrap("keyfile://open.key", kDataKey, kNoAad).ok());
}

TEST_F(KeyfileProviderTest, CachedKeyFileMadeReadableByOthersStopsBeingServed) {
  std::string path = WriteKeyFile("c.key", "ses-keyfile v1\n1 " + kKekHex + "\n");
  ASSERT_TRUE(provider_->Wrap("keyfile://c.key", kDataKey, kNoAad).ok());
  ASSERT_EQ(::chmod(path.c_str(), 0604), 0);
  auto r = provider_->Wrap("keyfile://c.key", kDataKey, kNoAad);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kPermissionDenied);
}

TEST_F(KeyfileProviderTest, MissingKeyFileIsNotFoundAndNamesThePath) {
  auto w = provider_->Wrap("keyfile://absent.key", kDataKey, kNoAad);
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().code(), StatusCode::kNotFound);
  EXPECT_NE(w.status().message().find(dir_ + "/absent.key"), std::string::npos);
  EXPECT_EQ(provider_->ListVersions("keyfile://absent.key").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(provider_->RotateKey("keyfile://absent.key").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(provider_->Unwrap("keyfile://absent.key", "1", Bytes(40), kNoAad).status().code(),
            StatusCode::kNotFound);
}

TEST_F(KeyfileProviderTest, DirectoryOrFifoInPlaceOfAKeyFileIsRefused) {
  ASSERT_EQ(::mkdir((dir_ + "/sub").c_str(), 0700), 0);
  auto d = provider_->Wrap("keyfile://sub", kDataKey, kNoAad);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(d.status().message().find("not a regular file"), std::string::npos);
  ASSERT_EQ(::mkfifo((dir_ + "/fifo").c_str(), 0600), 0);
  auto f = provider_->RotateKey("keyfile://fifo");  // must not hang on the open
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), StatusCode::kFailedPrecondition);
}

TEST_F(KeyfileProviderTest, MalformedKeyFilesNameTheLineNumber) {
  const std::string k1 = kKekHex;
  const std::string k2 = kKekHex2;
  struct Case {
    std::string contents;
    int line;
  };
  const std::vector<Case> cases = {
      {"", 1},
      {"ses-keyfile v2\n1 " + k1 + "\n", 1},
      {"ses-keyfile v1 \n1 " + k1 + "\n", 1},
      {"ses-keyfile v1\n1 " + k1 + "\n2 " + k2.substr(2) + "\n", 3},
      {"ses-keyfile v1\n1 " + k1 + "\n2 " + k2 + "00\n", 3},
      {"ses-keyfile v1\n1 " + k1 + "\n1 " + k2 + "\n", 3},
      {"ses-keyfile v1\n2 " + k1 + "\n1 " + k2 + "\n", 3},
      {"ses-keyfile v1\n0 " + k1 + "\n", 2},
      {"ses-keyfile v1\n01 " + k1 + "\n", 2},
      {"ses-keyfile v1\n-1 " + k1 + "\n", 2},
      {"ses-keyfile v1\nx " + k1 + "\n", 2},
      {"ses-keyfile v1\n1 " + k1 + " \n", 2},
      {"ses-keyfile v1\n1  " + k1 + "\n", 2},
      {"ses-keyfile v1\n1\t" + k1 + "\n", 2},
      {"ses-keyfile v1\n1 " + k1 + "\r\n", 2},
      {"ses-keyfile v1\n1 " + k1.substr(0, 63) + "g\n", 2},
      {"ses-keyfile v1\n" + k1 + "\n", 2},
      {"ses-keyfile v1\n1 " + k1 + "\n\n", 3},
      {"ses-keyfile v1\n1 " + k1 + "\n2 " + k2 + "\n3\n", 4},
      {"ses-keyfile v1\n1234567890 " + k1 + "\n", 2},
  };
  for (const Case& c : cases) {
    std::string path = WriteKeyFile("bad.key", c.contents);
    auto r = provider_->ListVersions("keyfile://bad.key");
    ASSERT_FALSE(r.ok()) << c.contents;
    EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition) << c.contents;
    const std::string& m = r.status().message();
    EXPECT_NE(m.find(path + " line " + std::to_string(c.line) + ":"), std::string::npos)
        << m << "\nfor: " << c.contents;
    EXPECT_EQ(m.find(k1.substr(0, 16)), std::string::npos) << m;
    EXPECT_EQ(m.find(k2.substr(0, 16)), std::string::npos) << m;
  }
  WriteKeyFile("bad.key", "ses-keyfile v1\n");
  auto empty = provider_->ListVersions("keyfile://bad.key");
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.status().message().find("no key versions"), std::string::npos);
}

TEST_F(KeyfileProviderTest, HandWrittenFileWithGapsUppercaseAndNoFinalNewlineParses) {
  WriteKeyFile("h.key", "ses-keyfile v1\n1 " + kKekHex + "\n3 " + Upper(kKekHex2));
  auto versions = provider_->ListVersions("keyfile://h.key");
  ASSERT_TRUE(versions.ok()) << versions.status().ToString();
  EXPECT_EQ(*versions, (std::vector<std::string>{"1", "3"}));
  auto w = provider_->Wrap("keyfile://h.key", kDataKey, kNoAad);
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->key_version, "3");
  EXPECT_EQ(w->wrapped, RawEvp("AES-256-WRAP-PAD", true, Unhex(kKekHex2), kDataKey));
  auto rotated = provider_->RotateKey("keyfile://h.key");
  ASSERT_TRUE(rotated.ok());
  EXPECT_EQ(*rotated, "4");
}

TEST_F(KeyfileProviderTest, BadUrisAreInvalidArgumentForEveryOperation) {
  const std::vector<std::string> bad = {"",
                                        "keyfile://",
                                        "keyfile:/a.key",
                                        "keyfile:a.key",
                                        "file:///a.key",
                                        "KEYFILE://a.key",
                                        "/a.key",
                                        std::string("keyfile://a\0b", 13)};
  for (const std::string& uri : bad) {
    EXPECT_EQ(provider_->Wrap(uri, kDataKey, kNoAad).status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(provider_->Unwrap(uri, "1", Bytes(40), kNoAad).status().code(),
              StatusCode::kInvalidArgument);
    EXPECT_EQ(provider_->CreateKey(uri).status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(provider_->RotateKey(uri).status().code(), StatusCode::kInvalidArgument);
    auto r = provider_->ListVersions(uri);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find("expected keyfile://PATH"), std::string::npos);
    EXPECT_EQ(r.status().message().find('\0'), std::string::npos);
  }
  EXPECT_EQ(provider_->ListVersions("file:///a.key").status().message(),
            "keyfile: bad key URI 'file:///a.key': expected keyfile://PATH");
}

TEST_F(KeyfileProviderTest, UnknownVersionIsNotFound) {
  ASSERT_TRUE(provider_->CreateKey("keyfile://a.key").ok());
  auto w = provider_->Wrap("keyfile://a.key", kDataKey, kNoAad);
  ASSERT_TRUE(w.ok());
  auto r = provider_->Unwrap("keyfile://a.key", "7", w->wrapped, kNoAad);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(r.status().message(), "keyfile: key 'keyfile://a.key' has no version 7");
}

TEST_F(KeyfileProviderTest, NonNumericVersionIsInvalidArgument) {
  ASSERT_TRUE(provider_->CreateKey("keyfile://a.key").ok());
  auto w = provider_->Wrap("keyfile://a.key", kDataKey, kNoAad);
  ASSERT_TRUE(w.ok());
  for (const char* v : {"", "abc", "-1", "+1", "1.0", " 1", "1 ", "01", "0", "0x1", "99999999999"}) {
    auto r = provider_->Unwrap("keyfile://a.key", v, w->wrapped, kNoAad);
    ASSERT_FALSE(r.ok()) << v;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << "'" << v << "'";
  }
}

TEST_F(KeyfileProviderTest, EveryFlippedByteOfAWrappedKeyFailsUnwrapUniformly) {
  ASSERT_TRUE(provider_->CreateKey("keyfile://a.key").ok());
  auto w = provider_->Wrap("keyfile://a.key", kDataKey, kNoAad);
  ASSERT_TRUE(w.ok());
  const std::string expected = "keyfile: unwrap failed for 'keyfile://a.key' version 1";
  for (size_t i = 0; i < w->wrapped.size(); ++i) {
    for (uint8_t flip : {0x01, 0x80}) {
      Bytes bad = w->wrapped;
      bad[i] ^= flip;
      auto r = provider_->Unwrap("keyfile://a.key", "1", bad, kNoAad);
      ASSERT_FALSE(r.ok()) << "byte " << i;
      EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
      EXPECT_EQ(r.status().message(), expected);
    }
  }
  Bytes longer = w->wrapped;
  longer.resize(48);
  for (const Bytes& bad : {Bytes(), Bytes(7), Bytes(w->wrapped.begin(), w->wrapped.end() - 8),
                           Bytes(w->wrapped.begin(), w->wrapped.end() - 1), longer}) {
    auto r = provider_->Unwrap("keyfile://a.key", "1", bad, kNoAad);
    ASSERT_FALSE(r.ok()) << bad.size();
    EXPECT_EQ(r.status().message(), expected);
  }
  // The right blob under the wrong version fails the same way.
  ASSERT_TRUE(provider_->RotateKey("keyfile://a.key").ok());
  auto wrong = provider_->Unwrap("keyfile://a.key", "2", w->wrapped, kNoAad);
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.status().message(), "keyfile: unwrap failed for 'keyfile://a.key' version 2");
}

TEST_F(KeyfileProviderTest, DataKeyAndWrappedSizesOutsideTheLimitsAreRejected) {
  ASSERT_TRUE(provider_->CreateKey("keyfile://a.key").ok());
  for (size_t len : {0u, 15u, 1025u}) {
    auto r = provider_->Wrap("keyfile://a.key", Bytes(len, 7), kNoAad);
    ASSERT_FALSE(r.ok()) << len;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  }
  for (size_t len : {16u, 1024u}) {
    auto w = provider_->Wrap("keyfile://a.key", Bytes(len, 7), kNoAad);
    ASSERT_TRUE(w.ok()) << len;
    auto u = provider_->Unwrap("keyfile://a.key", "1", w->wrapped, kNoAad);
    ASSERT_TRUE(u.ok()) << len;
    EXPECT_EQ(ToBytes(*u), Bytes(len, 7));
  }
  auto big = provider_->Unwrap("keyfile://a.key", "1", Bytes(2056, 1), kNoAad);
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(big.status().message().find("2048"), std::string::npos);
}

TEST_F(KeyfileProviderTest, CreateKeyRefusesAnExistingFileAndLeavesItAlone) {
  std::string path = WriteKeyFile("x.key", "ses-keyfile v1\n1 " + kKekHex + "\n");
  auto r = provider_->CreateKey("keyfile://x.key");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kAlreadyExists);
  EXPECT_NE(r.status().message().find(path), std::string::npos);
  EXPECT_EQ(ReadFile(path), "ses-keyfile v1\n1 " + kKekHex + "\n");
  ASSERT_TRUE(provider_->CreateKey("keyfile://y.key").ok());
  EXPECT_EQ(provider_->CreateKey("keyfile://y.key").status().code(), StatusCode::kAlreadyExists);
}

TEST_F(KeyfileProviderTest, CreatedAndRotatedFilesAreExactly0600WhateverTheUmask) {
  mode_t old = ::umask(0277);  // would make a plain open(..., 0600) yield 0400
  auto created = provider_->CreateKey("keyfile://m.key");
  auto rotated = provider_->RotateKey("keyfile://m.key");
  ::umask(old);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  ASSERT_TRUE(rotated.ok()) << rotated.status().ToString();
  struct stat st;
  ASSERT_EQ(::stat((dir_ + "/m.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  // No temporary files are left behind.
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir_)) {
    names.push_back(e.path().filename().string());
  }
  EXPECT_EQ(names, std::vector<std::string>{"m.key"});
}

TEST_F(KeyfileProviderTest, CreatedFileHasTheDocumentedFormat) {
  ASSERT_TRUE(provider_->CreateKey("keyfile://f.key").ok());
  std::string text = ReadFile(dir_ + "/f.key");
  ASSERT_EQ(text.size(), std::string("ses-keyfile v1\n1 \n").size() + 64);
  EXPECT_EQ(text.substr(0, 17), "ses-keyfile v1\n1 ");
  EXPECT_EQ(text.back(), '\n');
  std::string hex = text.substr(17, 64);
  EXPECT_TRUE(std::all_of(hex.begin(), hex.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  })) << "not lowercase hex";
  EXPECT_NE(hex, std::string(64, '0'));
}

TEST_F(KeyfileProviderTest, CreateKeyNeedsAnExistingParentDirectory) {
  auto r = provider_->CreateKey("keyfile://no/such/k.key");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find(dir_ + "/no/such"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/no"));
}

TEST_F(KeyfileProviderTest, RelativePathsResolveAgainstDirAndAbsoluteOnesDoNot) {
  ASSERT_EQ(::mkdir((dir_ + "/sub").c_str(), 0700), 0);
  ASSERT_TRUE(provider_->CreateKey("keyfile://sub/rel.key").ok());
  EXPECT_TRUE(std::filesystem::is_regular_file(dir_ + "/sub/rel.key"));
  std::string abs = dir_ + "/sub/abs.key";
  ASSERT_TRUE(provider_->CreateKey("keyfile://" + abs).ok());
  EXPECT_TRUE(std::filesystem::is_regular_file(abs));
  // The same file by either name wraps with the same key.
  auto by_rel = provider_->Wrap("keyfile://sub/abs.key", kDataKey, kNoAad);
  auto by_abs = provider_->Wrap("keyfile://" + abs, kDataKey, kNoAad);
  ASSERT_TRUE(by_rel.ok() && by_abs.ok());
  EXPECT_EQ(by_rel->wrapped, by_abs->wrapped);
}

TEST_F(KeyfileProviderTest, DefaultDirIsTheWorkingDirectoryAtCreation) {
  std::filesystem::path old = std::filesystem::current_path();
  std::filesystem::current_path(dir_);
  auto made = KeyfileProvider::Create({});
  std::filesystem::current_path(old);  // a later chdir must not move the keys
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  ASSERT_TRUE((*made)->CreateKey("keyfile://cwd.key").ok());
  EXPECT_TRUE(std::filesystem::is_regular_file(dir_ + "/cwd.key"));
}

TEST_F(KeyfileProviderTest, ConfigRejectsUnknownKeysAndBadDirectories) {
  auto unknown = KeyfileProvider::Create({{"dir", dir_}, {"directory", dir_}});
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(unknown.status().message().find("'directory'"), std::string::npos);

  auto missing = KeyfileProvider::Create({{"dir", dir_ + "/nope"}});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find(dir_ + "/nope"), std::string::npos);

  std::string file = WriteKeyFile("plain", "x");
  auto not_dir = KeyfileProvider::Create({{"dir", file}});
  ASSERT_FALSE(not_dir.ok());
  EXPECT_EQ(not_dir.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(not_dir.status().message().find("not a directory"), std::string::npos);

  EXPECT_EQ(KeyfileProvider::Create({{"dir", ""}}).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(KeyfileProviderTest, HealthFailsOnceTheKeyDirectoryIsGone) {
  std::string sub = dir_ + "/keys";
  ASSERT_EQ(::mkdir(sub.c_str(), 0700), 0);
  auto made = KeyfileProvider::Create({{"dir", sub}});
  ASSERT_TRUE(made.ok());
  EXPECT_TRUE((*made)->Health().ok());
  ASSERT_EQ(::rmdir(sub.c_str()), 0);
  Status health = (*made)->Health();
  EXPECT_EQ(health.code(), StatusCode::kUnavailable);
  EXPECT_NE(health.message().find(sub), std::string::npos);
}

TEST_F(KeyfileProviderTest, NoErrorMessageContainsKeyHex) {
  const std::string good = "ses-keyfile v1\n1 " + kKekHex + "\n";
  std::vector<Status> errors;
  WriteKeyFile("s.key", good + "2 " + kKekHex2 + "zz\n");
  errors.push_back(provider_->ListVersions("keyfile://s.key").status());
  WriteKeyFile("s.key", good + kKekHex2 + "\n");
  errors.push_back(provider_->ListVersions("keyfile://s.key").status());
  WriteKeyFile("s.key", good + "1 " + kKekHex2 + "\n");
  errors.push_back(provider_->ListVersions("keyfile://s.key").status());
  WriteKeyFile("s.key", "ses-keyfile " + kKekHex + "\n");
  errors.push_back(provider_->ListVersions("keyfile://s.key").status());
  WriteKeyFile("s.key", good, 0644);
  errors.push_back(provider_->Wrap("keyfile://s.key", kDataKey, kNoAad).status());
  WriteKeyFile("s.key", good);
  errors.push_back(provider_->Unwrap("keyfile://s.key", "1", Bytes(40, 3), kNoAad).status());
  errors.push_back(provider_->Unwrap("keyfile://s.key", "9", Bytes(40, 3), kNoAad).status());
  errors.push_back(provider_->CreateKey("keyfile://s.key").status());
  errors.push_back(provider_->Wrap("keyfile://s.key", Bytes(3), kNoAad).status());

  // Every window of 8 hex digits (4 key bytes), in either case.
  for (const Status& s : errors) {
    ASSERT_FALSE(s.ok());
    for (const std::string& key : {kKekHex, kKekHex2}) {
      for (size_t i = 0; i + 8 <= key.size(); ++i) {
        EXPECT_EQ(s.message().find(key.substr(i, 8)), std::string::npos) << s.message();
        EXPECT_EQ(s.message().find(Upper(key.substr(i, 8))), std::string::npos) << s.message();
      }
    }
  }
}

}  // namespace
}  // namespace ses::keyfile
