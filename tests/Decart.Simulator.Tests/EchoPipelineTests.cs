using Decart.Simulator.Constraints;
using Decart.Simulator.Model;

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
        var host = new Host();
        var pipeline = new EchoPipeline(host);
        pipeline.Start();
        var time = TimeProvider.System;
        long stalledSince = time.GetTimestamp() - (2 * time.TimestampFrequency);  // arrived 2 s ago: the loop was stalled
        byte[] delta = [1, 2, 3], key = [9, 9, 9];
        for (int i = 0; i < 30; i++)
        {
            pipeline.OnInput(delta, (uint)i, isKeyframe: false, stalledSince + (i * time.TimestampFrequency / 30));
        }

        await host.WaitForKeyframeRequestAsync();
        pipeline.OnInput(delta, 100, isKeyframe: false, time.GetTimestamp());     // still waiting for the keyframe
        pipeline.OnInput(key, 101, isKeyframe: true, time.GetTimestamp());
        for (uint i = 102; i < 112; i++)
        {
            pipeline.OnInput(delta, i, isKeyframe: false, time.GetTimestamp());
        }

        await host.WaitForOutputsAsync(11);
        await pipeline.DisposeAsync();
        Assert.Equal(31, pipeline.FramesDropped);                                  // the 30 stale frames and the delta before the keyframe
        Assert.Equal(101u, host.Sent[0]);                                          // output resumes with the keyframe
        Assert.Equal(Enumerable.Range(101, 11).Select(i => (uint)i), host.Sent);
        Assert.All(host.Records, r => Assert.True(r.LatencyMs < 1000, $"{r.LatencyMs} ms: a stale frame went out"));
    }

    private sealed class Host : IModelHost
    {
        private readonly TaskCompletionSource _keyframe = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public List<uint> Sent { get; } = [];

        public List<FrameRecord> Records { get; } = [];

        public SimulatedModel Model { get; } = new("lucy-2.1", ModelKind.Realtime, 30, 30, 1088, 624, InputRule.None);

        public TimeProvider Time => TimeProvider.System;

        public RenderState CurrentState() => new(0, null, true, null);

        public TimeSpan SampleLatency() => TimeSpan.FromMilliseconds(30);

        public bool Send(ReadOnlySpan<byte> frame, uint rtpTimestamp)
        {
            lock (Sent)
            {
                Sent.Add(rtpTimestamp);
            }

            return true;
        }

        public void RequestInputKeyframe() => _keyframe.TrySetResult();

        public void OnOutput(FrameRecord record)
        {
            lock (Sent)
            {
                Records.Add(record);
            }
        }

        public Task WaitForKeyframeRequestAsync() => _keyframe.Task.WaitAsync(TimeSpan.FromSeconds(10));

        public async Task WaitForOutputsAsync(int count)
        {
            for (int i = 0; i < 500 && Records.Count < count; i++)
            {
                await Task.Delay(20);
            }
        }
    }
}
