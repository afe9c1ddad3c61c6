using System.Buffers;
using System.Threading.Channels;

namespace Decart.Simulator.Model;

/// <summary>
/// Echo mode: the received bitstream goes back out after the processing latency, at the input's rate. Bounded: a
/// frame that is more than two frame intervals (plus slack) late when due — the session stalled, the machine was
/// busy — is dropped with everything after it until the next keyframe, which is requested, so latency returns to the
/// configured figure within a keyframe's round trip instead of staying behind for good.
/// </summary>
internal sealed class EchoPipeline(IModelHost host) : ModelPipeline(host)
{
    private const int QueueFrames = 64;
    private static readonly TimeSpan Slack = TimeSpan.FromMilliseconds(100);
    private readonly Channel<Pending> _queue = Channel.CreateBounded<Pending>(new BoundedChannelOptions(QueueFrames) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
    private readonly object _gate = new();
    private bool _awaitingKeyframe;
    private long _output;

    public override string Mode => "echo";

    public override void OnKeyframeRequested() => Host.RequestInputKeyframe();

    protected override void Accept(ReadOnlySpan<byte> frame, uint rtpTimestamp, bool isKeyframe, long input, long arrival)
    {
        lock (_gate)
        {
            if (_awaitingKeyframe && !isKeyframe)
            {
                Dropped();
                return;
            }

            _awaitingKeyframe = false;
            var copy = ArrayPool<byte>.Shared.Rent(frame.Length);
            frame.CopyTo(copy);
            if (!_queue.Writer.TryWrite(new Pending(copy, frame.Length, rtpTimestamp, isKeyframe, input, arrival)))
            {
                ArrayPool<byte>.Shared.Return(copy);
                Dropped();
                _awaitingKeyframe = true;
                Host.RequestInputKeyframe();
            }
        }
    }

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
                        if (!skipping)
                        {
                            Host.RequestInputKeyframe();
                        }

                        skipping = true;
                        Dropped();
                        continue;
                    }

                    skipping = false;
                    if (Host.Send(frame.Buffer.AsSpan(0, frame.Length), frame.RtpTimestamp))
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
            _queue.Writer.TryComplete();
            while (_queue.Reader.TryRead(out var left))
            {
                ArrayPool<byte>.Shared.Return(left.Buffer);
            }
        }
    }

    private readonly record struct Pending(byte[] Buffer, int Length, uint RtpTimestamp, bool IsKeyframe, long Input, long Arrival);
}
