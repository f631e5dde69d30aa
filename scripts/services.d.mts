import type { ChildProcess } from 'node:child_process';

export function freePorts(count: number): Promise<number[]>;
export function freePort(): Promise<number>;
export function waitHealthy(url: string, child: ChildProcess, name: string, timeoutMs?: number, options?: { degraded?: boolean }): Promise<void>;
