using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Decart.Rtc;
using Decart.Rtc.Sdp;
using Decart.Simulator.Hosting;

namespace Decart.Simulator.Tests;

/// <summary>
/// A protocol-level client written from PROTOCOL.md for testing the simulator's server side without the SDK:
/// a raw WebSocket, JSON messages, and a <see cref="PeerConnection"/> fed from an IVF clip.
/// </summary>
internal sealed class RawRealtimeClient : IAsyncDisposable
{
    private readonly ClientWebSocket _ws = new();
    private readonly Channel<JsonObject> _messages = Channel.CreateUnbounded<JsonObject>();
    private readonly CancellationTokenSource _stop = new();
    private readonly List<JsonObject> _all = [];
    private Task _receive = Task.CompletedTask;
    private Task _media = Task.CompletedTask;

    public PeerConnection? Pc { get; private set; }

    public WebSocketCloseStatus? CloseStatus => _ws.CloseStatus;

    public WebSocketState SocketState => _ws.State;

    public Task Closed => _receive;

    /// <summary>Why the receive loop stopped, when it failed.</summary>
    public Exception? ReceiveFailure { get; private set; }

    /// <summary>Every message received so far.</summary>
    public IReadOnlyList<JsonObject> All
    {
        get
        {
            lock (_all)
            {
                return [.. _all];
            }
        }
    }

    public static string Clip(string name)
    {
        return Path.Combine(Decart.Testing.RepositoryPaths.Root, "assets", "clips", name);
    }

    /// <summary>The frames of an IVF clip.</summary>
    public static List<byte[]> IvfFrames(string clip)
    {
        var bytes = File.ReadAllBytes(Clip(clip));
        int headerLength = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(6));
        var frames = new List<byte[]>();
        for (int at = headerLength; at + 12 <= bytes.Length;)
        {
            int size = (int)BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(at));
            frames.Add(bytes.AsSpan(at + 12, size).ToArray());
            at += 12 + size;
        }

        return frames;
    }

    public static async Task<RawRealtimeClient> OpenAsync(DecartSimulator sim, string? key = null, string model = "lucy-2.1", string? origin = null, string? extraQuery = null)
    {
        var client = new RawRealtimeClient();
        if (origin is not null)
        {
            client._ws.Options.SetRequestHeader("Origin", origin);
        }

        var url = new Uri(sim.RealtimeBaseUrl, $"/v1/stream?api_key={Uri.EscapeDataString(key ?? sim.DefaultApiKey)}&model={Uri.EscapeDataString(model)}&user_agent=raw-test{(extraQuery is null ? string.Empty : "&" + extraQuery)}");
        await client._ws.ConnectAsync(url, CancellationToken.None);
        client._receive = Task.Run(client.ReceiveLoopAsync);
        return client;
    }

    public Task SendAsync(JsonObject message) => SendTextAsync(message.ToJsonString());

    public Task SendTextAsync(string text) => _ws.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, CancellationToken.None);

    public Task SendBytesAsync(byte[] bytes, WebSocketMessageType type = WebSocketMessageType.Text) => _ws.SendAsync(bytes, type, true, CancellationToken.None);

    /// <summary>The next message of a type (skipping others, which stay in <see cref="All"/>).</summary>
    public async Task<JsonObject> ExpectAsync(string type, double seconds = 15)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
        try
        {
            while (true)
            {
                var message = await _messages.Reader.ReadAsync(cts.Token);
                if ((string?)message["type"] == type)
                {
                    return message;
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or ChannelClosedException)
        {
            throw new Xunit.Sdk.XunitException($"no '{type}' message within {seconds} s (socket {_ws.State}, close {_ws.CloseStatus}, failure {ReceiveFailure?.Message}); got: {string.Join(", ", All.Select(m => (string?)m["type"]))}");
        }
    }

    public async Task<JsonObject> PromptAsync(string prompt, bool enhance = true)
    {
        await SendAsync(new JsonObject { ["type"] = "prompt", ["prompt"] = prompt, ["enhance_prompt"] = enhance });
        return await ExpectAsync("prompt_ack");
    }

    /// <summary>Offers (VP8 or H.264), answers, trickles, waits for media.</summary>
    public async Task NegotiateAsync(string codec = "VP8", TimeSpan? consent = null)
    {
        var pc = new PeerConnection(new PeerConnectionOptions { ConsentTimeout = consent ?? TimeSpan.FromSeconds(30) });
        Pc = pc;
        var offer = await pc.CreateOfferAsync();
        SdpNegotiation.KeepOnlyCodec(offer, codec);
        await SendAsync(new JsonObject { ["type"] = "offer", ["sdp"] = offer.ToString() });
        var answer = await ExpectAsync("answer");
        await pc.SetRemoteDescriptionAsync(SessionDescription.Parse((string)answer["sdp"]!, SdpType.Answer));
        foreach (var c in pc.Ice.LocalCandidates)
        {
            await SendAsync(new JsonObject { ["type"] = "ice-candidate", ["candidate"] = new JsonObject { ["candidate"] = c.ToString(), ["sdpMid"] = "0", ["sdpMLineIndex"] = 0 } });
        }

        await SendAsync(new JsonObject { ["type"] = "ice-candidate", ["candidate"] = null });
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await pc.ConnectedAsync(cts.Token);
    }

    /// <summary>Stamps misread: a frame whose stamp read but went backwards in output number (never expected).</summary>
    public int Misreads { get; private set; }

    /// <summary>The sizes of the decoded output frames.</summary>
    public ConcurrentBag<(int Width, int Height)> OutputSizes { get; } = [];

    /// <summary>Test-pattern counters read from decoded output frames without a stamp (echo).</summary>
    public ConcurrentQueue<long> Counters { get; } = new();

    /// <summary>Decodes what the simulator sends (VP8) and collects each frame's state stamp with its arrival time.</summary>
    public ConcurrentQueue<(Decart.Sdk.Testing.StateStamp Stamp, long At)> DecodeOutput(string codec = "VP8")
    {
        var stamps = new ConcurrentQueue<(Decart.Sdk.Testing.StateStamp, long)>();
        Func<ReadOnlySpan<byte>, Decart.Sdk.Media.I420Frame?> decode;
        if (codec == "H264")
        {
            var h264 = new Decart.Sdk.Media.OpenH264.H264Decoder();
            decode = h264.Decode;
        }
        else
        {
            var vp8 = new Decart.Sdk.Media.Vpx.Vp8Decoder();
            decode = vp8.Decode;
        }

        int last = 0;
        Pc!.FrameReceived += (frame, _, _) =>
        {
            Decart.Sdk.Media.I420Frame? picture;
            try
            {
                picture = decode(frame);
            }
            catch (Decart.Sdk.DecartException)
            {
                return; // e.g. frames before the first keyframe
            }

            using (picture)
            {
                if (picture is null)
                {
                    return;
                }

                OutputSizes.Add((picture.Width, picture.Height));
                if (Decart.Sdk.Testing.StateStamp.TryRead(picture, out var stamp))
                {
                    if (stamp.OutputFrame <= last)
                    {
                        Misreads++;
                    }

                    last = stamp.OutputFrame;
                    stamps.Enqueue((stamp, System.Diagnostics.Stopwatch.GetTimestamp()));
                }
                else if (Decart.Sdk.Media.TestPattern.ReadCounter(picture) is >= 0 and var counter)
                {
                    Counters.Enqueue(counter);
                }
            }
        };
        return stamps;
    }

    /// <summary>Sends the clip's frames in a loop at a rate until stopped.</summary>
    public void StartMedia(string clip = "pattern-1088x624-30fps.ivf", int fps = 30) => StartMedia(IvfFrames(clip), fps);

    /// <summary>Sends these encoded frames in a loop at a rate until stopped.</summary>
    public void StartMedia(IReadOnlyList<byte[]> frames, int fps)
    {
        var pc = Pc!;
        _media = Task.Run(async () =>
        {
            using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(1000.0 / fps));
            long n = 0;
            try
            {
                while (await timer.WaitForNextTickAsync(_stop.Token))
                {
                    pc.SendFrame(frames[(int)(n % frames.Count)], (uint)(n * 90000 / fps));
                    n++;
                }
            }
            catch (OperationCanceledException)
            {
            }
        });
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        await _media;
        if (Pc is not null)
        {
            await Pc.DisposeAsync();
        }

        try
        {
            if (_ws.State == WebSocketState.Open)
            {
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await _ws.CloseAsync(WebSocketCloseStatus.NormalClosure, null, cts.Token);
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
        {
        }

        _ws.Abort();
        await _receive;
        _ws.Dispose();
    }

    private async Task ReceiveLoopAsync()
    {
        var buffer = new byte[1 << 20];
        try
        {
            while (true)
            {
                int n = 0;
                WebSocketReceiveResult result;
                do
                {
                    result = await _ws.ReceiveAsync(buffer.AsMemory(n), CancellationToken.None) is var r ? new WebSocketReceiveResult(r.Count, r.MessageType, r.EndOfMessage) : null!;
                    n += result.Count;
                }
                while (!result.EndOfMessage);

                if (result.MessageType == WebSocketMessageType.Close)
                {
                    break;
                }

                if (JsonNode.Parse(buffer.AsSpan(0, n)) is JsonObject message)
                {
                    lock (_all)
                    {
                        _all.Add(message);
                    }

                    _messages.Writer.TryWrite(message);
                }
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException or JsonException)
        {
            ReceiveFailure = ex;
        }
        finally
        {
            _messages.Writer.TryComplete();
        }
    }
}
