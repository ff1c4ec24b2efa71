/**
 * The subscribe `maxFps` rule (docs/protocol.md): the one definition the server's ClientSession
 * and the dashboard's scripted stand-in (bench/dashboardReplay.ts) apply.
 */

/**
 * Whether a frame captured at `ts` (epoch ms) is due for a subscriber that asked for at most
 * `maxFps` frames a second and last took the frame captured at `lastTakenTs`: 1/maxFps or more
 * after it, or none taken yet, or the clock went back. By capture time, not send time, so the
 * frames taken follow the camera's timing and not the jitter of the path to the client.
 */
export function dueUnderMaxFps(maxFps: number, lastTakenTs: number | undefined, ts: number): boolean {
  return lastTakenTs === undefined || ts < lastTakenTs || ts - lastTakenTs >= 1000 / maxFps;
}
