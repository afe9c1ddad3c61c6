using System.Buffers;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Decart.Simulator.Faults;
using Decart.Simulator.Hosting;

namespace Decart.Simulator.Realtime;

/// <summary>
/// A session's control WebSocket (<c>/v1/stream</c>): one bounded reader that hands each text message on, one writer
/// that sends queued messages in order (each after its signaling-latency fault), and the close handshake. It knows
/// nothing of what the messages mean.
/// </summary>
internal sealed class ControlChannel(WebSocket ws, int maxMessageBytes, FaultSet faults, string sessionId, TimeProvider time, CancellationToken life)
{
    /// <summary>Messages queued for a client that does not read them before the connection is cut.</summary>
    public const int MaxQueued = 4096;

    private readonly Channel<Outgoing> _outgoing = Channel.CreateUnbounded<Outgoing>(new UnboundedChannelOptions { SingleReader = true });
    private Task _writer = Task.CompletedTask;
    private int _queued;

    /// <summary>The client stopped reading while messages piled up past <see cref="MaxQueued"/>: the connection was cut.</summary>
    public bool Overflowed { get; private set; }

    /// <summary>The WebSocket's state.</summary>
    public WebSocketState State => ws.State;

    /// <summary>Starts the writer.</summary>
    public void Start() => _writer = Task.Run(WriteLoopAsync);

    /// <summary>Queues a message (after any signaling-latency fault toward the client).</summary>
    public void Send(JsonObject message)
    {
        var delay = SignalingLatency(toClient: true);
        long due = time.GetTimestamp() + (long)(delay.TotalSeconds * time.TimestampFrequency);
        Enqueue(new Outgoing(message.ToJsonString(), due, null));
    }

    /// <summary>Queues any text as it is, unchecked and undelayed.</summary>
    public void SendRaw(string text) => Enqueue(new Outgoing(text, time.GetTimestamp(), null));

    /// <summary>Queues a close after the messages before it, and cuts the connection if the client does not answer within 3 s.</summary>
    public void Close(string reason, WebSocketCloseStatus status)
    {
        _outgoing.Writer.TryWrite(new Outgoing(CloseReason(reason), time.GetTimestamp(), status));
        _ = AbortLaterAsync();
    }

    /// <summary>Cuts the connection (a network failure, as the client sees it).</summary>
    public void Abort() => ws.Abort();

    /// <summary>
    /// Reads messages until the client closes: each text message is delayed by any signaling-latency fault toward the
    /// server and handed to <paramref name="onText"/>; other frames go to <paramref name="onIgnored"/>. A message over
    /// the limit is read away (bounded) and reported through <paramref name="onTooLarge"/>, which ends the loop.
    /// </summary>
    public async Task ReceiveAsync(Func<ReadOnlyMemory<byte>, Task> onText, Action onIgnored, Action<int> onTooLarge)
    {
        int cap = maxMessageBytes;
        byte[] buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            while (ws.State == WebSocketState.Open)
            {
                WebSocketMessages.Shrink(ref buffer, 16 * 1024); // a big message's buffer is not kept for the next one
                var message = await WebSocketMessages.ReceiveAsync(ws, buffer, cap, life).ConfigureAwait(false);
                buffer = message.Buffer;
                if (message.Type == WebSocketMessageType.Close)
                {
                    return;
                }

                if (message.TooLarge)
                {
                    // The error and the close (1009) are queued first, so the client gets them however its message
                    // goes on (one frame or thousands of fragments); then the rest is read away, bounded in bytes
                    // and time, so that the close is not turned into a reset while the writer sends them.
                    onTooLarge(cap);
                    long drained = 0;
                    try
                    {
                        using var drain = CancellationTokenSource.CreateLinkedTokenSource(life);
                        drain.CancelAfter(TimeSpan.FromSeconds(5));
                        for (bool end = false; !end && drained < 16L * cap && ws.State is WebSocketState.Open or WebSocketState.CloseSent;)
                        {
                            var rest = await ws.ReceiveAsync(buffer.AsMemory(), drain.Token).ConfigureAwait(false);
                            drained += rest.Count;
                            end = rest.EndOfMessage || rest.MessageType == WebSocketMessageType.Close;
                        }
                    }
                    catch (Exception ex) when (ex is OperationCanceledException or WebSocketException)
                    {
                        // A client that keeps sending past the bounds is cut off; it already has the error.
                    }

                    return;
                }

                if (message.Type != WebSocketMessageType.Text)
                {
                    onIgnored();
                    continue;
                }

                var delay = SignalingLatency(toClient: false);
                if (delay > TimeSpan.Zero)
                {
                    await Task.Delay(delay, time, life).ConfigureAwait(false);
                }

                await onText(buffer.AsMemory(0, message.Length)).ConfigureAwait(false);
            }
        }
        finally
        {
            WebSocketMessages.Return(buffer);
        }
    }

    /// <summary>Stops taking messages and waits (bounded) for the queued ones — an error, <c>generation_ended</c>, a close — to go out.</summary>
    public async Task FlushAsync(TimeSpan bound)
    {
        _outgoing.Writer.TryComplete();
        try
        {
            await _writer.WaitAsync(bound).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Timed out or failed: the session ends either way.
        }
    }

    /// <summary>Waits for the writer to stop.</summary>
    public Task Stopped => _writer;

    /// <summary>
    /// When a close was sent and nobody reads any more, read until the client's close arrives (bounded): aborting with
    /// unread bytes would make the kernel send a reset, and the client would lose the messages before the close.
    /// When the client closed first, answer its close. Then abort whatever is left.
    /// </summary>
    public async Task FinishAsync()
    {
        if (ws.State == WebSocketState.CloseReceived && _writer.IsCompleted)
        {
            // The client closed first: answer its close (an abort here would reach it as a connection reset).
            try
            {
                using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await ws.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, bound.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException or ObjectDisposedException or InvalidOperationException)
            {
            }

            return;
        }

        if (ws.State == WebSocketState.CloseSent)
        {
            var scratch = ArrayPool<byte>.Shared.Rent(4096);
            try
            {
                using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                while (ws.State == WebSocketState.CloseSent)
                {
                    var result = await ws.ReceiveAsync(scratch.AsMemory(), bound.Token).ConfigureAwait(false);
                    if (result.MessageType == WebSocketMessageType.Close)
                    {
                        break;
                    }
                }
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException or ObjectDisposedException or InvalidOperationException)
            {
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(scratch);
            }
        }
    }

    /// <summary>Aborts the socket unless it already closed.</summary>
    public void AbortIfOpen()
    {
        if (ws.State is not (WebSocketState.Closed or WebSocketState.Aborted))
        {
            ws.Abort();
        }
    }

    private void Enqueue(Outgoing item)
    {
        // Bounded: a client that sends and never reads would otherwise pile up an error or an ack per message.
        if (Interlocked.Increment(ref _queued) > MaxQueued)
        {
            Interlocked.Decrement(ref _queued);
            if (!Overflowed)
            {
                Overflowed = true;
                ws.Abort();
            }

            return;
        }

        if (!_outgoing.Writer.TryWrite(item))
        {
            Interlocked.Decrement(ref _queued);
        }
    }

    /// <summary>A close reason within the 123 UTF-8 bytes a close frame allows, cut at a character boundary.</summary>
    internal static string CloseReason(string reason)
    {
        if (Encoding.UTF8.GetByteCount(reason) <= 123)
        {
            return reason;
        }

        int length = Math.Min(reason.Length, 123);
        while (length > 0 && (Encoding.UTF8.GetByteCount(reason.AsSpan(0, length)) > 123 || char.IsHighSurrogate(reason[length - 1])))
        {
            length--;
        }

        return reason[..length];
    }

    /// <summary>The signalling delay the session's <c>latency</c> faults draw for one message (also used by its room's signal socket).</summary>
    /// <param name="toClient">The direction.</param>
    /// <returns>The delay.</returns>
    public TimeSpan SignalingLatency(bool toClient)
    {
        var delay = TimeSpan.Zero;
        foreach (var fault in faults.Snapshot)
        {
            if (FaultSet.Matches(fault, sessionId) && fault.Kind is { } kind)
            {
                delay += kind.SignalingDelay(fault, toClient);
            }
        }

        return delay;
    }

    private async Task WriteLoopAsync()
    {
        try
        {
            await foreach (var item in _outgoing.Reader.ReadAllAsync(life).ConfigureAwait(false))
            {
                Interlocked.Decrement(ref _queued);
                var wait = time.GetElapsedTime(time.GetTimestamp(), item.Due);
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, time, life).ConfigureAwait(false);
                }

                if (item.Close is { } status)
                {
                    using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                    await ws.CloseOutputAsync(status, item.Text, bound.Token).ConfigureAwait(false);
                    return;
                }

                if (ws.State != WebSocketState.Open)
                {
                    return;
                }

                await ws.SendAsync(Encoding.UTF8.GetBytes(item.Text), WebSocketMessageType.Text, true, life).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException or IOException or ArgumentException)
        {
        }
    }

    private async Task AbortLaterAsync()
    {
        try
        {
            // Real time: how long a TCP peer gets to answer a close does not follow a test's fake clock.
            await Task.Delay(TimeSpan.FromSeconds(3), life).ConfigureAwait(false);
            ws.Abort();
        }
        catch (OperationCanceledException)
        {
        }
    }

    private readonly record struct Outgoing(string Text, long Due, WebSocketCloseStatus? Close);
}
