import { existsSync, writeFileSync } from 'node:fs';
import type { Browser } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * Debian's Chromium, headless, with a fake microphone and camera granted without a prompt. With
 * `audioFile`, the fake microphone plays that WAV file (in a loop) instead of Chromium's beeps.
 * Never downloads a browser: fails with how to install one.
 */
export async function launchChromium(options: { audioFile?: string } = {}): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `Chromium is not at ${CHROMIUM_PATH}: install Debian's package (apt-get install chromium; \`npm test\` does it when run as root) or set CHROMIUM_PATH.`,
    );
  }
  const { chromium } = await import('playwright-core');
  const args = [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-dev-shm-usage',
    '--use-fake-ui-for-media-stream',
    '--use-fake-device-for-media-stream',
    '--autoplay-policy=no-user-gesture-required',
  ];
  if (options.audioFile) args.push(`--use-file-for-fake-audio-capture=${options.audioFile}`);
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args });
}

/** Writes a mono 16-bit 48 kHz WAV file with a sine tone (the fake microphone's input). */
export function writeToneWav(path: string, hz = 440, seconds = 10, amplitude = 0.5): void {
  const rate = 48_000;
  const samples = rate * seconds;
  const buffer = Buffer.alloc(44 + samples * 2);
  buffer.write('RIFF', 0);
  buffer.writeUInt32LE(36 + samples * 2, 4);
  buffer.write('WAVE', 8);
  buffer.write('fmt ', 12);
  buffer.writeUInt32LE(16, 16);
  buffer.writeUInt16LE(1, 20); // PCM
  buffer.writeUInt16LE(1, 22); // mono
  buffer.writeUInt32LE(rate, 24);
  buffer.writeUInt32LE(rate * 2, 28);
  buffer.writeUInt16LE(2, 32);
  buffer.writeUInt16LE(16, 34);
  buffer.write('data', 36);
  buffer.writeUInt32LE(samples * 2, 40);
  for (let i = 0; i < samples; i++) buffer.writeInt16LE(Math.round(Math.sin((2 * Math.PI * hz * i) / rate) * amplitude * 32767), 44 + i * 2);
  writeFileSync(path, buffer);
}
