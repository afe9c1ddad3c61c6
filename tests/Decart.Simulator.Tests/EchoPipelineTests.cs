using Decart.Simulator.Constraints;
using Decart.Simulator.Model;
using Microsoft.Extensions.Time.Testing;

namespace Decart.Simulator.Tests;

/// <summary>
/// The echo pipeline on its own, fed frames with the arrival times a stalled session would have: what was late when
/// the stall ended is dropped up to the next keyframe (which is asked for), and what comes after goes out at the
/// configured latency again — no ratchet.
/// </summary>
public class EchoPipelineTests
{
    [Fact]
    public async Task After_a_stall_stale_frames_are_dropped_to_the_next_keyframe_and_latency_returns_to_the_configured_figure()
    {
        // On a fake clock: what is stale and what is on time does not depend on how busy the machine is.
        var time = new FakeTimeProvider(DateTimeOffset.UnixEpoch);
        var host = new Host(time);
        var pipeline = new EchoPipeline(host);
        pipeline.Start();
        long stalledSince = time.GetTimestamp();
        time.Advance(TimeSpan.FromSeconds(2));                                     // these frames arrived 2 s ago: the loop was stalled
        byte[] delta = [1, 2, 3], key = [9, 9, 9];
        for (int i = 0; i < 30; i++)
        {
            pipeline.OnInput(delta, (uint)i, isKeyframe: false, stalledSince + (i * time.TimestampFrequency / 30));
        }

        await host.WaitForKeyframeRequestAsync();
        long now = time.GetTimestamp();
        pipeline.OnInput(delta, 100, isKeyframe: false, now);                     // still waiting for the keyframe
        pipeline.OnInput(key, 101, isKeyframe: true, now);
        for (uint i = 102; i < 112; i++)
        {
            pipeline.OnInput(delta, i, isKeyframe: false, now);
        }

        time.Advance(TimeSpan.FromMilliseconds(30));                               // the model latency passes once; then the clock stands still
        for (int i = 0; i < 1000 && host.Count < 11; i++)
        {
            await Task.Delay(10);
        }

        await pipeline.DisposeAsync();
        Assert.Equal(31, pipeline.FramesDropped);                                  // the 30 stale frames and the delta before the keyframe
        Assert.Equal(Enumerable.Range(101, 11).Select(i => (uint)i), host.Sent);   // output resumes with the keyframe, then every frame
        Assert.All(host.Records, r => Assert.InRange(r.LatencyMs, 29.9, 30.1));    // exactly the configured 30 ms again (fake-clock milliseconds)
    }

    [Fact]
    public async Task A_keyframe_that_does_not_come_is_asked_for_again_every_half_second_not_on_every_dropped_frame()
    {
        // The first request lost (or passed over by the publisher's encoder): without asking again the pipeline would
        // drop every frame for good. On a fake clock, so "half a second" is exact.
        var time = new FakeTimeProvider(DateTimeOffset.UnixEpoch);
        var host = new Host(time);
        var pipeline = new EchoPipeline(host);
        pipeline.Start();
        long stalledSince = time.GetTimestamp();
        time.Advance(TimeSpan.FromSeconds(2));
        byte[] delta = [1, 2, 3], key = [9, 9, 9];
        pipeline.OnInput(delta, 0, isKeyframe: false, stalledSince);             // stale: dropped, a keyframe asked for
        await host.WaitForKeyframeRequestAsync();

        // More deltas, no keyframe, the clock still: dropped without asking again.
        for (uint i = 1; i <= 20; i++)
        {
            pipeline.OnInput(delta, i, isKeyframe: false, stalledSince);
        }

        await WaitUntilAsync(() => pipeline.FramesDropped == 21, "21 frames dropped");
        Assert.Equal(1, host.KeyframeRequests);

        // 499 ms on: still not. 500 ms on: asked again, once.
        time.Advance(TimeSpan.FromMilliseconds(499));
        pipeline.OnInput(delta, 21, isKeyframe: false, stalledSince);
        await WaitUntilAsync(() => pipeline.FramesDropped == 22, "22 frames dropped");
        Assert.Equal(1, host.KeyframeRequests);
        time.Advance(TimeSpan.FromMilliseconds(1));
        pipeline.OnInput(delta, 22, isKeyframe: false, stalledSince);
        pipeline.OnInput(delta, 23, isKeyframe: false, stalledSince);
        await WaitUntilAsync(() => pipeline.FramesDropped == 24, "24 frames dropped");
        Assert.Equal(2, host.KeyframeRequests);

        // The keyframe ends the wait: it goes out, and so does what follows it.
        pipeline.OnInput(key, 24, isKeyframe: true, stalledSince);
        pipeline.OnInput(delta, 25, isKeyframe: false, time.GetTimestamp() - (time.TimestampFrequency / 100)); // on time
        time.Advance(TimeSpan.FromMilliseconds(30));
        await WaitUntilAsync(() => host.Count == 2, "the keyframe and the delta after it sent");
        await pipeline.DisposeAsync();
        Assert.Equal([24u, 25u], host.Sent);
        Assert.Equal(2, host.KeyframeRequests);
    }

    [Fact]
    public async Task A_transform_whose_decoder_failed_asks_again_for_the_keyframe_every_half_second()
    {
        // Transform mode: garbage fails the decoder, which then needs a keyframe and drops what is not one.
        var time = new FakeTimeProvider(DateTimeOffset.UnixEpoch);
        var host = new Host(time);
        var pipeline = new TransformPipeline(host, Decart.Rtc.Codecs.RtpCodec.Vp8, Decart.Rtc.Codecs.RtpCodec.Vp8);
        pipeline.Start();
        byte[] garbage = [0x31, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08];
        pipeline.OnInput(garbage, 0, isKeyframe: false, time.GetTimestamp());
        await host.WaitForKeyframeRequestAsync();
        Assert.Equal(1, pipeline.DecodeErrors);

        for (uint i = 1; i <= 10; i++)
        {
            // One at a time: a burst would overflow the short decode queue, a wait of its own that asks at once.
            pipeline.OnInput(garbage, i, isKeyframe: false, time.GetTimestamp());
            await WaitUntilAsync(() => pipeline.FramesDropped == i + 1, $"{i + 1} frames dropped");
        }

        Assert.Equal(1, host.KeyframeRequests);                                    // not on every dropped frame
        time.Advance(TimeSpan.FromMilliseconds(500));
        pipeline.OnInput(garbage, 11, isKeyframe: false, time.GetTimestamp());
        await WaitUntilAsync(() => pipeline.FramesDropped == 12, "12 frames dropped");
        await pipeline.DisposeAsync();
        Assert.Equal(2, host.KeyframeRequests);                                    // but again once the half second is up
        Assert.Equal(1, pipeline.DecodeErrors);                                    // the waiting frames were never decoded
    }

    private static Task WaitUntilAsync(Func<bool> condition, string what) => Poll.UntilAsync(condition, what, TimeSpan.FromSeconds(10));

    private sealed class Host(TimeProvider time) : IModelHost
    {
        private readonly TaskCompletionSource _keyframe = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _keyframeRequests;

        public int KeyframeRequests => Volatile.Read(ref _keyframeRequests);

        public List<uint> Sent { get; } = [];

        public List<FrameRecord> Records { get; } = [];

        public SimulatedModel Model { get; } = new("lucy-2.1", ModelKind.Realtime, 30, 30, 1088, 624, InputRule.None);

        public TimeProvider Time => time;

        public int Count
        {
            get
            {
                lock (Sent)
                {
                    return Records.Count;
                }
            }
        }

        public RenderState CurrentState() => new(0, null, true, null);

        public TimeSpan SampleLatency() => TimeSpan.FromMilliseconds(30);

        public bool Send(ReadOnlySpan<byte> frame, uint rtpTimestamp, ulong captureTimestamp)
        {
            lock (Sent)
            {
                Sent.Add(rtpTimestamp);
            }

            return true;
        }

        public void RequestInputKeyframe()
        {
            Interlocked.Increment(ref _keyframeRequests);
            _keyframe.TrySetResult();
        }

        public void OnOutput(FrameRecord record)
        {
            lock (Sent)
            {
                Records.Add(record);
            }
        }

        public Task WaitForKeyframeRequestAsync() => _keyframe.Task.WaitAsync(TimeSpan.FromSeconds(10));
    }
}
