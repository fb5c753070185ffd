#include "portcullis/agent/target.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/capability.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>
#include <vector>

namespace portcullis::agent {
namespace {

TEST(JoinAndNormalize, Paths) {
  EXPECT_EQ(JoinAndNormalize("/work", "a/b"), "/work/a/b");
  EXPECT_EQ(JoinAndNormalize("/work", "/etc//passwd"), "/etc/passwd");
  EXPECT_EQ(JoinAndNormalize("/work/x", "../y/./z/"), "/work/y/z");
  EXPECT_EQ(JoinAndNormalize("/", "../../.."), "/");
  EXPECT_EQ(JoinAndNormalize("/a", "."), "/a");
}

TEST(Target, ReadsStringsAcrossAndUpToPageEnds) {
  // A string ending exactly at the end of a mapping followed by an unmapped
  // page: reading must not need the next page.
  long page = sysconf(_SC_PAGESIZE);
  char* mem = static_cast<char*>(mmap(nullptr, static_cast<std::size_t>(2 * page),
                                      PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(mem, MAP_FAILED);
  ASSERT_EQ(munmap(mem + page, static_cast<std::size_t>(page)), 0);
  std::memset(mem, 'a', static_cast<std::size_t>(page));
  mem[page - 1] = '\0';
  Target self{.tid = getpid()};
  auto s = self.ReadString(reinterpret_cast<std::uint64_t>(mem + 10));
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->size(), static_cast<std::size_t>(page - 11));
  // Unterminated before the hole: an error, not a crash.
  mem[page - 1] = 'a';
  EXPECT_FALSE(self.ReadString(reinterpret_cast<std::uint64_t>(mem)).ok());
  EXPECT_FALSE(self.ReadString(8).ok());  // unmapped
  // Too long.
  std::string big(5000, 'x');
  EXPECT_FALSE(self.ReadString(reinterpret_cast<std::uint64_t>(big.c_str())).ok());
  munmap(mem, static_cast<std::size_t>(page));
}

TEST(Target, CredentialsAndIdentity) {
  Target self{.tid = getpid()};
  auto c = self.ReadCredentials();
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->euid, geteuid());
  EXPECT_EQ(c->fsgid, getegid());
  EXPECT_EQ(c->tgid, getpid());
  EXPECT_EQ(c->ppid, getppid());
  std::vector<gid_t> groups(static_cast<std::size_t>(getgroups(0, nullptr)));
  getgroups(static_cast<int>(groups.size()), groups.data());
  EXPECT_EQ(c->groups, groups);
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct caps[2] = {};
  ASSERT_EQ(syscall(SYS_capget, &header, caps), 0);
  EXPECT_EQ(c->cap_effective, caps[0].effective | (std::uint64_t{caps[1].effective} << 32));
  mode_t old = umask(027);
  EXPECT_EQ(self.ReadCredentials()->umask, 027u);
  umask(old);
  char exe[4096] = {};
  ASSERT_GT(readlink("/proc/self/exe", exe, sizeof(exe) - 1), 0);
  EXPECT_EQ(self.Executable(), exe);
  EXPECT_FALSE(self.Argv().empty());
  EXPECT_FALSE(Target{.tid = 999999999}.ReadCredentials().ok());
}

}  // namespace
}  // namespace portcullis::agent
