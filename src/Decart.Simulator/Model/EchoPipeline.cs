using System.Buffers;
using System.Threading.Channels;

namespace Decart.Simulator.Model;

/// <summary>
/// Echo mode: the received bitstream goes back out after the processing latency, at the input's rate. Bounded: a
/// frame that is more than two frame intervals (plus slack) late when due — the session stalled, the machine was
/// busy — is dropped with everything after it until the next keyframe, which is requested (and again, at most once per
/// 500 ms, on the frames dropped while it is awaited), so latency returns to the configured figure within a keyframe's
/// round trip instead of staying behind for good.
/// </summary>
internal sealed class EchoPipeline(IModelHost host) : ModelPipeline(host)
{
    private const int QueueFrames = 64;
    private static readonly TimeSpan Slack = TimeSpan.FromMilliseconds(100);
    private readonly Channel<PendingFrame> _queue = Channel.CreateBounded<PendingFrame>(new BoundedChannelOptions(QueueFrames) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
    private long _output;

    public override string Mode => "echo";

    public override void OnKeyframeRequested() => Host.RequestInputKeyframe();

    protected override void Accept(InputFrame meta, ReadOnlySpan<byte> frame) => Enqueue(_queue, meta, frame);

    protected override async Task RunAsync(CancellationToken stop)
    {
        var time = Host.Time;
        var staleAfter = (2 * TimeSpan.FromSeconds(1.0 / Math.Max(1, Host.Model.Fps))) + Slack;
        bool skipping = false;
        try
        {
            await foreach (var frame in _queue.Reader.ReadAllAsync(stop).ConfigureAwait(false))
            {
                try
                {
                    long due = After(frame.Arrival, Host.SampleLatency());
                    await WaitUntilAsync(due, stop).ConfigureAwait(false);
                    if (!frame.IsKeyframe && (skipping || time.GetElapsedTime(due) > staleAfter))
                    {
                        AskForInputKeyframe(first: !skipping); // and again while the wait lasts: one request may be lost
                        skipping = true;
                        Dropped();
                        continue;
                    }

                    skipping = false;
                    if (Host.Send(frame.Buffer.AsSpan(0, frame.Length), frame.RtpTimestamp, frame.Meta.Capture))
                    {
                        var state = Host.CurrentState();
                        Host.OnOutput(new FrameRecord(++_output, frame.Input, state.Version, state.PromptHash, state.ImageHash, time.GetElapsedTime(frame.Arrival).TotalMilliseconds, Mode, InputsReceived - frame.Input));
                    }
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(frame.Buffer);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            Drain(_queue);
        }
    }
}
