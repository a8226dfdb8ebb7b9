/**
 * The seccomp filter of every workshop shell (bubblewrap loads it with `--seccomp FD` just
 * before it execs the shell's chain, after the sandbox is set up). Pure: it builds the
 * classic-BPF program; sandboxed-shell.ts hands it to bwrap.
 *
 * Why: the shell runs as an unprivileged uid with no capabilities, but `unshare -U -r` gave it
 * CAP_SYS_ADMIN over new user, mount and network namespaces — the usual door to kernel
 * privilege escalation. bubblewrap's own `--disable-userns` needs `--unshare-user`, and then
 * bwrap maps the sandbox's uid to its caller's (root): files would be written as root, and
 * setpriv could not change to the session's uid (unmapped in that namespace). So the calls are
 * refused here instead. What the filter does, for every process of the sandbox:
 *
 *   clone, unshare with CLONE_NEWUSER                      EPERM (no new user namespace)
 *   clone3                                                 ENOSYS: its flags sit in memory
 *                                                          a filter cannot read; glibc then
 *                                                          falls back to clone, checked above
 *   setns                                                  EPERM (no joining a namespace)
 *   mount, umount2, pivot_root, open_tree, move_mount,
 *   fsopen, fsconfig, fsmount, fspick, mount_setattr       EPERM (the mount API)
 *   keyctl, add_key, request_key                           EPERM (kernel keyrings)
 *   bpf, perf_event_open, userfaultfd,
 *   io_uring_setup, io_uring_enter, io_uring_register      EPERM (kernel attack surface a
 *                                                          shell, kubectl and an editor
 *                                                          never use)
 *   any call of another ABI (i386 via int 0x80, x32)       ENOSYS: the table above would not
 *                                                          apply to its numbers
 *   everything else                                        allowed
 *
 * The other namespace flags (CLONE_NEWNS, CLONE_NEWNET…) need CAP_SYS_ADMIN, which the shell
 * has nowhere once no user namespace can be made.
 */

/** The syscall numbers the filter names, per architecture (from the kernel's unistd tables). */
interface SyscallTable {
  /** AUDIT_ARCH_* of seccomp_data.arch */
  audit: number;
  /** numbers at or above this belong to another ABI on the same arch (x32) */
  foreignFrom?: number;
  clone: number;
  clone3: number;
  unshare: number;
  denied: Record<string, number>;
}

const MOUNT_API_AND_NEWER = {
  io_uring_setup: 425,
  io_uring_enter: 426,
  io_uring_register: 427,
  open_tree: 428,
  move_mount: 429,
  fsopen: 430,
  fsconfig: 431,
  fsmount: 432,
  fspick: 433,
  mount_setattr: 442,
};

const TABLES: Record<string, SyscallTable> = {
  x64: {
    audit: 0xc000003e,
    foreignFrom: 0x40000000,
    clone: 56,
    clone3: 435,
    unshare: 272,
    denied: {
      setns: 308,
      mount: 165,
      umount2: 166,
      pivot_root: 155,
      keyctl: 250,
      add_key: 248,
      request_key: 249,
      bpf: 321,
      perf_event_open: 298,
      userfaultfd: 323,
      ...MOUNT_API_AND_NEWER,
    },
  },
  arm64: {
    audit: 0xc00000b7,
    clone: 220,
    clone3: 435,
    unshare: 97,
    denied: {
      setns: 268,
      mount: 40,
      umount2: 39,
      pivot_root: 41,
      keyctl: 219,
      add_key: 217,
      request_key: 218,
      bpf: 280,
      perf_event_open: 241,
      userfaultfd: 282,
      ...MOUNT_API_AND_NEWER,
    },
  },
};

const CLONE_NEWUSER = 0x10000000;
const EPERM = 1;
const ENOSYS = 38;

// Classic BPF (linux/filter.h, linux/seccomp.h).
const LD_W_ABS = 0x20;
const JEQ_K = 0x15;
const JGE_K = 0x35;
const JSET_K = 0x45;
const RET_K = 0x06;
const RET_ALLOW = 0x7fff0000;
const retErrno = (errno: number) => 0x00050000 | errno;
// Offsets in struct seccomp_data: nr, arch, then instruction_pointer, then args[6] (64-bit,
// little-endian on both arches: the low half of args[0] is at 16).
const NR = 0;
const ARCH = 4;
const ARG0_LOW = 16;

type Target = 'allow' | 'eperm' | 'enosys' | 'flags';
type Instruction =
  | { code: number; k: number }
  | { code: number; k: number; jt: Target | 0; jf: Target | 0 };

/** Whether this machine's architecture has a table (else workshop mode cannot start). */
export function seccompSupported(arch: string = process.arch): boolean {
  return arch in TABLES;
}

/** The filter as bwrap's `--seccomp` reads it: struct sock_filter[], native endian. */
export function sandboxSeccompFilter(arch: string = process.arch): Buffer {
  const table = TABLES[arch];
  if (!table) {
    throw new Error(
      `No seccomp filter for the architecture ${arch} (only ${Object.keys(TABLES).join(', ')}).`,
    );
  }
  const body: Instruction[] = [
    { code: LD_W_ABS, k: ARCH },
    { code: JEQ_K, k: table.audit, jt: 0, jf: 'enosys' },
    { code: LD_W_ABS, k: NR },
    ...(table.foreignFrom
      ? [{ code: JGE_K, k: table.foreignFrom, jt: 'enosys', jf: 0 } as const]
      : []),
    { code: JEQ_K, k: table.clone3, jt: 'enosys', jf: 0 },
    { code: JEQ_K, k: table.clone, jt: 'flags', jf: 0 },
    { code: JEQ_K, k: table.unshare, jt: 'flags', jf: 0 },
    ...Object.values(table.denied).map(
      (nr) => ({ code: JEQ_K, k: nr, jt: 'eperm', jf: 0 }) as const,
    ),
  ];
  const tail: Record<Target, Instruction[]> = {
    allow: [{ code: RET_K, k: RET_ALLOW }],
    eperm: [{ code: RET_K, k: retErrno(EPERM) }],
    enosys: [{ code: RET_K, k: retErrno(ENOSYS) }],
    flags: [
      { code: LD_W_ABS, k: ARG0_LOW },
      { code: JSET_K, k: CLONE_NEWUSER, jt: 'eperm', jf: 'allow' },
    ],
  };
  // A call that matched nothing is allowed; every jump goes forward, to one of the stubs
  // after the body (jumps cannot go back).
  const program: Instruction[] = [...body, { code: RET_K, k: RET_ALLOW }];
  const at = {} as Record<Target, number>;
  for (const name of ['flags', 'allow', 'eperm', 'enosys'] as const) {
    at[name] = program.length;
    program.push(...tail[name]);
  }
  const out = Buffer.alloc(program.length * 8);
  program.forEach((ins, i) => {
    const offset = (target: Target | 0) => {
      if (target === 0) return 0;
      const jump = at[target] - i - 1;
      if (jump < 0 || jump > 255) throw new Error(`seccomp jump out of range at ${i}`);
      return jump;
    };
    out.writeUInt16LE(ins.code, i * 8);
    out.writeUInt8('jt' in ins ? offset(ins.jt) : 0, i * 8 + 2);
    out.writeUInt8('jf' in ins ? offset(ins.jf) : 0, i * 8 + 3);
    out.writeUInt32LE(ins.k >>> 0, i * 8 + 4);
  });
  return out;
}
