// Stage 1: portcullis-agent is one static x86-64 executable that runs in a
// root file system holding nothing but itself and the workload.
#include <elf.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "test_util.h"

namespace portcullis::agent {
namespace {

namespace fs = std::filesystem;
using test::AgentBin;
using test::TestProgram;

struct ElfFacts {
  bool ok = false;
  bool x86_64 = false;
  bool interp = false;   // PT_INTERP: needs a dynamic loader
  bool dynamic = false;  // PT_DYNAMIC: has dynamic sections
};

ElfFacts ReadElf(const std::string& path) {
  ElfFacts f;
  std::ifstream in(path, std::ios::binary);
  Elf64_Ehdr eh{};
  if (!in.read(reinterpret_cast<char*>(&eh), sizeof(eh))) return f;
  if (std::string(reinterpret_cast<char*>(eh.e_ident), 4) !=
      "\x7f"
      "ELF")
    return f;
  f.x86_64 = eh.e_ident[EI_CLASS] == ELFCLASS64 && eh.e_machine == EM_X86_64;
  for (int i = 0; i < eh.e_phnum; ++i) {
    Elf64_Phdr ph{};
    in.seekg(static_cast<std::streamoff>(eh.e_phoff + i * eh.e_phentsize));
    if (!in.read(reinterpret_cast<char*>(&ph), sizeof(ph))) return f;
    f.interp |= ph.p_type == PT_INTERP;
    f.dynamic |= ph.p_type == PT_DYNAMIC;
  }
  f.ok = true;
  return f;
}

TEST(StaticBinary, IsStaticX86_64) {
  ElfFacts f = ReadElf(AgentBin());
  ASSERT_TRUE(f.ok);
  EXPECT_TRUE(f.x86_64);
  EXPECT_FALSE(f.interp) << "needs a dynamic loader";
  EXPECT_FALSE(f.dynamic) << "has dynamic sections";
  // The check itself tells a dynamic program apart.
  ElfFacts sh = ReadElf("/bin/sh");
  ASSERT_TRUE(sh.ok);
  EXPECT_TRUE(sh.interp);
}

TEST(StaticBinary, RunsInAnEmptyRootAsPid1) {
  if (geteuid() != 0) GTEST_SKIP() << "chroot needs root";
  fs::path root = fs::temp_directory_path() / ("agent-rootfs-" + std::to_string(getpid()));
  fs::remove_all(root);
  fs::create_directories(root);
  fs::copy_file(AgentBin(), root / "portcullis-agent");
  fs::copy_file(TestProgram("hello_static"), root / "hello");
  // A policy, so the protobuf, libseccomp and policy code runs there too.
  std::ofstream(root / "policy.json")
      << R"({"hardening": ["deny-ptrace"], "rules": [{"type": "syscall", "action": "deny",
            "syscall": "personality", "args": [{"index": 0, "op": "eq", "value": 8}]}]})";
  // Nothing else: no libc, no loader, no /proc, no /dev, no /etc.
  int count = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(root))
    ++count;
  ASSERT_EQ(count, 3);

  int out[2];
  ASSERT_EQ(pipe(out), 0);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], 1);
    close(out[0]);
    if (chroot(root.c_str()) != 0 || chdir("/") != 0) _exit(100);
    // A fresh PID namespace: the agent is PID 1 there, as in a container.
    if (unshare(CLONE_NEWPID) != 0) _exit(101);
    pid_t init = fork();
    if (init == 0) {
      char* argv[] = {const_cast<char*>("/portcullis-agent"),
                      const_cast<char*>("--policy"),
                      const_cast<char*>("/policy.json"),
                      const_cast<char*>("--"),
                      const_cast<char*>("/hello"),
                      const_cast<char*>("5"),
                      nullptr};
      char* envp[] = {nullptr};
      execve(argv[0], argv, envp);
      _exit(102);
    }
    int status = 0;
    waitpid(init, &status, 0);
    _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 103);
  }
  close(out[1]);
  std::string output = test::ReadAll(out[0], 20000);
  close(out[0]);
  EXPECT_EQ(test::WaitExit(pid, 20000), 5) << output;
  EXPECT_NE(output.find("hello from a static workload, pid 2: 5"), std::string::npos) << output;
  fs::remove_all(root);
}

}  // namespace
}  // namespace portcullis::agent
