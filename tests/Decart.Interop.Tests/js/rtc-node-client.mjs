// A LiveKit client independent of Decart's SDKs: LiveKit's own Node SDK (@livekit/rtc-node, the Rust SDK with
// libwebrtc, unmodified from npm). Given a room URL and token (from livekit_room_info), it joins, publishes a
// synthetic camera at the model's size, and waits for the model participant's video. It prints one JSON line.
import { Room, RoomEvent, VideoSource, LocalVideoTrack, VideoFrame, VideoBufferType, TrackPublishOptions, TrackSource, VideoStream, dispose } from '@livekit/rtc-node';

const [, , url, token, widthText, heightText, wantText] = process.argv;
const width = Number(widthText), height = Number(heightText), want = Number(wantText || 30);
const result = { ok: false, frames: 0, size: null, from: null, error: null };
const room = new Room();
room.on(RoomEvent.TrackSubscribed, async (track, publication, participant) => {
  if (!participant.identity.startsWith('inference-server-')) return;
  result.from = participant.identity;
  for await (const event of new VideoStream(track)) {
    result.frames++;
    result.size = [event.frame.width, event.frame.height];
    if (result.frames >= want) break;
  }
});
let timer = null;
try {
  await room.connect(url, token, { autoSubscribe: true, dynacast: false });
  const source = new VideoSource(width, height);
  const track = LocalVideoTrack.createVideoTrack('camera', source);
  const options = new TrackPublishOptions();
  options.source = TrackSource.SOURCE_CAMERA;
  // Keep size and rate (DEGRADATION_PREFERENCE_MAINTAIN_FRAMERATE_AND_RESOLUTION = 4): on a busy machine libwebrtc's
  // CPU-overuse adaptation would otherwise shrink the full layer (to 628x360 from 1088x624, seen under load), and the
  // simulator would rightly warn about the size — a property of this test client, not of the room server under test.
  options.degradationPreference = 4;
  await room.localParticipant.publishTrack(track, options);
  const buffer = new Uint8Array(width * height * 3 / 2);
  let n = 0;
  timer = setInterval(() => {
    buffer.fill((n++ * 7) % 255, 0, width * height); // a changing picture, so the encoder keeps sending
    source.captureFrame(new VideoFrame(buffer, width, height, VideoBufferType.I420));
  }, 33);
  const deadline = Date.now() + 40000;
  while (result.frames < want && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  result.ok = result.frames >= want;
} catch (e) {
  result.error = String(e && e.message ? e.message : e);
}
if (timer) clearInterval(timer);
console.log(JSON.stringify(result));
try { await room.disconnect(); } catch { }
await dispose();
process.exit(0);
