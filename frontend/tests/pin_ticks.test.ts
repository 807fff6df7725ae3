import { describe, expect, it } from "vitest";
import { PinTicks, resolvedNote, TickError, type KeyValue, type Pin } from "../src/shared/review";

const memory = (): KeyValue & { data: Map<string, string> } => {
  const data = new Map<string, string>();
  return { data, getItem: (k) => data.get(k) ?? null, setItem: (k, v) => void data.set(k, v) };
};
const json = (status: number, body: unknown): Response =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
const pin: Pin = { id: 7, x: 5, y: 2, text: "here", resolved: false, resolved_at: null, resolved_by: null };

describe("pin ticks", () => {
  it("posts the tick and returns the pin as stored", async () => {
    const calls: [string, RequestInit][] = [];
    const ticks = new PinTicks("/api", "tok", 3, memory(), async (url, init) => {
      calls.push([String(url), init!]);
      return json(200, { ...pin, resolved: true, resolved_by: "alice", resolved_at: "2026-11-30T12:00:00+00:00" });
    });
    const stored = await ticks.set(pin, true);
    expect(calls[0][0]).toBe("/api/review/pins/7/resolve/");
    expect(JSON.parse(String(calls[0][1].body))).toEqual({ resolved: true });
    expect((calls[0][1].headers as Record<string, string>)["X-CSRFToken"]).toBe("tok");
    expect(resolvedNote(stored)).toBe("resolved by alice 2026-11-30 12:00");
  });

  it("keeps a tick the network lost, shows it and sends it on the next flush", async () => {
    const store = memory();
    let up = false;
    const ticks = new PinTicks("/api", "tok", 3, store, async () => {
      if (!up) throw new TypeError("Failed to fetch");
      return json(200, { ...pin, resolved: true, resolved_by: "alice" });
    });
    const lost = await ticks.set(pin, true).catch((e) => e);
    expect(lost).toBeInstanceOf(TickError);
    expect(lost.kept).toBe(true);
    expect(lost.message).toContain("cannot be reached");
    expect(ticks.overlay([pin])[0].resolved).toBe(true);
    up = true;
    const { pins, failed } = await ticks.flush([pin]);
    expect(failed).toBeNull();
    expect(pins[0].resolved_by).toBe("alice");
    expect(ticks.pending()).toEqual({});
  });

  it("keeps the ticks of each user apart", async () => {
    const store = memory();
    const offline = new PinTicks("/api", "tok", 3, store, async () => { throw new TypeError("Failed to fetch"); });
    await offline.set(pin, true).catch(() => undefined);
    let sent = 0;
    const other = new PinTicks("/api", "tok", 4, store, async () => (sent++, json(200, pin)));
    expect(other.pending()).toEqual({});
    await other.flush([pin]);
    expect(sent).toBe(0);
    expect(offline.pending()).toEqual({ 7: true });
  });

  it("does not keep a refused tick", async () => {
    const ticks = new PinTicks("/api", "tok", 3, memory(), async () => json(403, { detail: "only the annotator assigned" }));
    const refused = await ticks.set(pin, true).catch((e) => e);
    expect(refused.kept).toBe(false);
    expect(refused.message).toBe("only the annotator assigned");
    expect(ticks.pending()).toEqual({});
  });
});
