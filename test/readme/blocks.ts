import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** A fenced code block of README.md: its info string (`ts`, `js example`, ...), its text and its opening line. */
export interface Block {
  info: string;
  code: string;
  line: number;
}

export const root = resolve(__dirname, '..', '..');
export const readme = readFileSync(join(root, 'README.md'), 'utf8');

export const blocks: Block[] = [];
{
  const lines = readme.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S.*)?$/.exec(lines[i]);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && lines[i] !== '```'; i++) body.push(lines[i]);
    blocks.push({ info: (open[1] ?? '').trim(), code: body.join('\n') + '\n', line: start + 1 });
  }
}
