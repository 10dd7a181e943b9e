/** Kernel suites need root; they skip loudly otherwise (CI runs as root and never sets the variable). */
import { execSync } from 'node:child_process';

export const skipReason: string | null =
  process.env.OMNITIDE_SKIP_KERNEL_TESTS === '1'
    ? 'OMNITIDE_SKIP_KERNEL_TESTS=1'
    : process.platform !== 'linux'
      ? `platform ${process.platform}`
      : process.getuid?.() !== 0
        ? 'not root (needs CAP_BPF, CAP_NET_ADMIN, CAP_SYS_ADMIN)'
        : null;

if (skipReason) {
  const line = `!!! SKIPPING omnitide kernel tests: ${skipReason} !!!`;
  console.warn(`\n${'!'.repeat(line.length)}\n${line}\n${'!'.repeat(line.length)}\n`);
}

export const sh = (cmd: string): string => execSync(cmd, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

export function eth(proto: number): number[] {
  return [2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, proto >> 8, proto & 0xff];
}

export function ipv4Udp(src: number[], dst: number[], payload = 16): Uint8Array {
  const total = 28 + payload;
  return new Uint8Array([
    ...eth(0x0800),
    0x45, 0, total >> 8, total & 0xff, 0, 0, 0x40, 0, 64, 17, 0, 0, ...src, ...dst,
    0x30, 0x39, 0x1f, 0x90, 0, 8 + payload, 0, 0,
    ...new Array(payload).fill(0xab),
  ]);
}

export function ipv6Udp(src: number[], dst: number[], payload = 16): Uint8Array {
  const plen = 8 + payload;
  return new Uint8Array([
    ...eth(0x86dd),
    0x60, 0, 0, 0, plen >> 8, plen & 0xff, 17, 64, ...src, ...dst,
    0x30, 0x39, 0x1f, 0x90, 0, plen, 0, 0,
    ...new Array(payload).fill(0xcd),
  ]);
}

export function v6(parts: number[]): number[] {
  // 8 groups -> 16 bytes
  return parts.flatMap((g) => [g >> 8, g & 0xff]);
}

/** Shell command removing every omnitide pin directory of interfaces named `iface`, in any network namespace. */
export function removePins(iface: string): string {
  return `rm -rf /sys/fs/bpf/omnitide/net*/*-${iface}`;
}
