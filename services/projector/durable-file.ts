import { open, rename } from 'node:fs/promises';

/**
 * Files a view keeps beside the log (a webhook's checkpoint and dead letters) are written so that a
 * crash leaves either the old content or the new, never a torn mix, and a write is on disk before the
 * caller goes on.
 */

/** Replaces `file` with `content`: temporary file, fsync, rename, directory fsync. */
export async function writeDurably(dir: string, file: string, content: string): Promise<void> {
  const temporary = `${file}.tmp`;
  const handle = await open(temporary, 'w');
  try {
    await handle.writeFile(content, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temporary, file);
  await syncDirectory(dir);
}

/** Appends and fsyncs; a crash mid-append can leave a torn last line, which readers must expect. */
export async function appendDurably(file: string, text: string): Promise<void> {
  const handle = await open(file, 'a');
  try {
    await handle.writeFile(text, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
