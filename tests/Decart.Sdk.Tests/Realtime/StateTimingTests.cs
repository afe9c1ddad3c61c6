using System.Collections.Concurrent;
using Decart.Sdk.Media;
using Decart.Sdk.Models;
using Decart.Sdk.Realtime;
using Decart.Sdk.Testing;
using static Decart.Sdk.Tests.Realtime.RealtimeTestKit;

namespace Decart.Sdk.Tests.Realtime;

/// <summary>
/// What a user's integration test can now assert with the simulator's model and <see cref="StateStamp"/>: which state
/// each decoded frame was made with — the "brief mismatch" of <c>SetPromptAsync</c> + <c>SetImageAsync</c> (DECART003)
/// is visible, an atomic <c>SetAsync</c> has none, and the new state is on screen as its call returns.
/// </summary>
public class StateTimingTests
{
    [Theory]
    [InlineData(RealtimeTransport.LiveKit)]
    [InlineData(RealtimeTransport.Direct)]
    public async Task SetPrompt_then_SetImage_shows_the_mismatch_and_SetAsync_does_not(RealtimeTransport transport)
    {
        await using var sim = await StartSimulatorAsync(o => o.ProcessingLatency = TimeSpan.FromMilliseconds(20));
        using var client = Client(sim);
        await using var source = await SourceAsync();
        var sink = new StampSink();
        long received = 0;
        var next = sim.Sessions.NextSessionAsync();
        await using var rt = await client.Realtime.ConnectAsync(source, new RealtimeConnectOptions
        {
            Model = RealtimeModels.Lucy21,
            Transport = transport,
            InitialState = new RealtimeState { Prompt = "start" },
            DecodedSink = sink,
            OnFrame = _ => Interlocked.Increment(ref received),
        });
        var session = await next;
        await WaitUntilAsync(() => sink.Latest.Version >= 1, TimeSpan.FromSeconds(20), "frames made with the initial state");

        await rt.SetPromptAsync("a cat");
        int promptOnly = session.StateVersion;
        await rt.SetImageAsync(Png);
        int withImage = session.StateVersion;
        Assert.Equal(promptOnly + 1, withImage);
        await WaitUntilAsync(() => sink.Latest.Version >= withImage, TimeSpan.FromSeconds(10), "the image on screen");

        long mark = sink.Count;
        // Frames received but never stamped before now (dropped before decoding, on a busy machine) are not a backlog.
        long unstampedBefore = Interlocked.Read(ref received) - mark;
        await rt.SetAsync(new RealtimeState { Prompt = "a dog", Image = Png2 });
        int atomic = session.StateVersion;
        long backlog = Math.Max(0, Interlocked.Read(ref received) - sink.Count - unstampedBefore); // received since, still waiting to be decoded
        var afterSet = sink.Since(mark);
        await WaitUntilAsync(() => sink.Count > mark + 20, TimeSpan.FromSeconds(10), "frames after SetAsync");

        // The non-atomic pair put the new prompt with the old (no) image on screen for at least one frame.
        Assert.Contains(sink.Versions, v => v == promptOnly);
        // The atomic set has no in-between version: from the one before it straight to its own.
        Assert.Equal(withImage + 1, atomic);
        var server = session.Frames();
        Assert.All(server.Where(f => f.Version == atomic), f => Assert.Equal(Sha256(Png2), f.ImageHash));

        // As SetAsync returns, its version is on its way: frames received after it carry it, but for at most the two
        // that were already on the wire when the ack was sent. Frames received before it but still in the decode queue
        // then (a busy machine's decoder lags) are old by right, and counted out.
        var late = sink.Since(mark).Skip(afterSet.Count).ToArray();
        Assert.True(late.Count(v => v < atomic) <= 2 + backlog, $"versions after SetAsync returned: {string.Join(",", late.Take(10))} (decode backlog then {backlog})");
        Assert.Equal(0, sink.Unread);
    }

    /// <summary>Reads the stamp of every decoded frame.</summary>
    private sealed class StampSink : IVideoSink
    {
        private readonly ConcurrentQueue<int> _versions = new();
        private StateStamp _latest;

        public StateStamp Latest => _latest;

        public long Count => _versions.Count;

        public int Unread { get; private set; }

        public IReadOnlyList<int> Versions => [.. _versions];

        public IReadOnlyList<int> Since(long mark) => [.. _versions.Skip((int)mark)];

        public void OnFrame(I420Frame frame)
        {
            using (frame)
            {
                if (StateStamp.TryRead(frame, out var stamp))
                {
                    _latest = stamp;
                    _versions.Enqueue(stamp.Version);
                }
                else
                {
                    Unread++;
                }
            }
        }
    }
}
