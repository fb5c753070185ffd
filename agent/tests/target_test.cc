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

TEST(Target, IdentityFromThePidfdAgreesWithTheStatusFile) {
  // A pidfd of the calling thread (PIDFD_THREAD; Linux 6.9) and
  // PIDFD_GET_INFO (6.13): where the kernel has them, the same answer as
  // /proc/TID/status for everything but the groups and the umask.
  const pid_t tid = static_cast<pid_t>(syscall(SYS_gettid));
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, tid, O_EXCL));
  if (pidfd < 0) GTEST_SKIP() << "no thread pidfds on this kernel";
  Target self{.tid = tid, .pidfd = pidfd};
  auto fast = self.ReadIdentity();
  close(pidfd);
  if (!fast.ok() && fast.status().code() == StatusCode::kFailedPrecondition) {
    GTEST_SKIP() << fast.status();
  }
  ASSERT_TRUE(fast.ok()) << fast.status();
  auto slow = Target{.tid = tid}.ReadCredentials();
  ASSERT_TRUE(slow.ok()) << slow.status();
  EXPECT_EQ(fast->uid, slow->uid);
  EXPECT_EQ(fast->euid, slow->euid);
  EXPECT_EQ(fast->fsuid, slow->fsuid);
  EXPECT_EQ(fast->gid, slow->gid);
  EXPECT_EQ(fast->egid, slow->egid);
  EXPECT_EQ(fast->fsgid, slow->fsgid);
  EXPECT_EQ(fast->cap_effective, slow->cap_effective);
  EXPECT_EQ(fast->tgid, getpid());
  EXPECT_EQ(fast->ppid, getppid());
  // Without the capabilities: the same ids, no capability set.
  pidfd = static_cast<int>(syscall(SYS_pidfd_open, tid, O_EXCL));
  ASSERT_GE(pidfd, 0);
  auto ids = Target{.tid = tid, .pidfd = pidfd}.ReadIdentity(/*with_capabilities=*/false);
  close(pidfd);
  ASSERT_TRUE(ids.ok()) << ids.status();
  EXPECT_EQ(ids->fsuid, slow->fsuid);
  EXPECT_EQ(ids->fsgid, slow->fsgid);
  EXPECT_EQ(ids->tgid, getpid());
  EXPECT_EQ(ids->cap_effective, 0u);
  // No pidfd: refused, the caller reads the status file.
  EXPECT_EQ(Target{.tid = tid}.ReadIdentity().status().code(), StatusCode::kFailedPrecondition);
}

TEST(MountsMatchNamesExactly, CaseInsensitiveFileSystemsTurnLexicalPathsOff) {
  auto line = [](const std::string& point, const std::string& type, const std::string& opts) {
    return "36 35 98:0 / " + point + " rw,noatime master:1 - " + type + " src " + opts + "\n";
  };
  const std::string container = line("/", "overlay", "rw,lowerdir=/l") +
                                line("/proc", "proc", "rw") + line("/dev", "tmpfs", "rw") +
                                line("/dev/shm", "tmpfs", "rw,size=65536k") +
                                line("/etc/hosts", "ext4", "rw") + line("/data", "ext4", "rw");
  auto files = [](const std::string& p) { return p == "/etc/hosts"; };
  std::string why;
  EXPECT_TRUE(MountsMatchNamesExactly(container, false, files, &why)) << why;
  // A kernel that can casefold: an ext4 directory might be casefolded; an
  // ext4 file mounted on a file holds no names.
  EXPECT_FALSE(MountsMatchNamesExactly(container, true, files, &why));
  EXPECT_EQ(why, "ext4 on /data");
  const std::string no_data = line("/", "overlay", "rw") + line("/etc/hosts", "ext4", "rw") +
                              line("/run", "tmpfs", "rw,size=1k");
  EXPECT_TRUE(MountsMatchNamesExactly(no_data, true, files, &why)) << why;
  // tmpfs with casefold; file systems that never match exactly; unknown ones.
  EXPECT_FALSE(MountsMatchNamesExactly(no_data + line("/ci", "tmpfs", "rw,casefold=utf8-12.1.0"),
                                       true, files, &why));
  EXPECT_EQ(why, "tmpfs on /ci");
  for (const char* type : {"vfat", "exfat", "ntfs3", "cifs", "fuse.sshfs", "9p", "madeupfs"}) {
    EXPECT_FALSE(MountsMatchNamesExactly(container + line("/mnt", type, "rw"), false, files, &why))
        << type;
    EXPECT_EQ(why, std::string(type) + " on /mnt");
  }
}

}  // namespace
}  // namespace portcullis::agent
