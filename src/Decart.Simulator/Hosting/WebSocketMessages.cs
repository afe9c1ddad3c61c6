using System.Buffers;
using System.Net.WebSockets;

namespace Decart.Simulator.Hosting;

/// <summary>What <see cref="WebSocketMessages.ReceiveAsync"/> read.</summary>
/// <param name="Buffer">The pooled buffer holding the message (possibly a larger one than was passed in).</param>
/// <param name="Length">Bytes of the message in <paramref name="Buffer"/>.</param>
/// <param name="Type">The message type; <see cref="WebSocketMessageType.Close"/> when the peer closed.</param>
/// <param name="TooLarge">The message reached the cap before its end; the rest is still unread.</param>
internal readonly record struct ReceivedMessage(byte[] Buffer, int Length, WebSocketMessageType Type, bool TooLarge);

/// <summary>
/// Reading whole WebSocket messages into a buffer that grows up to a cap, for the simulator's fronts. Buffers up to
/// <see cref="PoolLimit"/> come from <see cref="ArrayPool{T}.Shared"/>; larger ones are plain arrays the GC takes back
/// (a pool would keep every 16 MiB buffer a flood of big messages ever needed), and a reader goes back to a small
/// buffer after each big message (<see cref="Shrink"/>).
/// </summary>
internal static class WebSocketMessages
{
    /// <summary>The largest buffer that is pooled.</summary>
    public const int PoolLimit = 1024 * 1024;

    /// <summary>A buffer of at least <paramref name="size"/> bytes: pooled up to <see cref="PoolLimit"/>, else fresh.</summary>
    public static byte[] Rent(int size) => size <= PoolLimit ? ArrayPool<byte>.Shared.Rent(size) : GC.AllocateUninitializedArray<byte>(size);

    /// <summary>Gives a buffer back: to the pool if it came from there, else to the GC.</summary>
    public static void Return(byte[] buffer)
    {
        if (buffer.Length <= PoolLimit)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>After a message, swaps a buffer grown past the pool limit back for a small one, so a session that received one big message does not hold it.</summary>
    public static void Shrink(ref byte[] buffer, int size)
    {
        if (buffer.Length > PoolLimit)
        {
            buffer = ArrayPool<byte>.Shared.Rent(size);
        }
    }

    /// <summary>
    /// Receives one message into <paramref name="buffer"/>, renting a larger one (doubling, up to
    /// <paramref name="cap"/>) as needed and returning the smaller one to <see cref="ArrayPool{T}.Shared"/>. Stops at
    /// the end of the message, at a close, or when the message would exceed the cap; what to do with the rest of an
    /// over-large message is the caller's policy.
    /// </summary>
    public static async ValueTask<ReceivedMessage> ReceiveAsync(WebSocket ws, byte[] buffer, int cap, CancellationToken cancellationToken)
    {
        // The caller owns `original` until this returns normally: if a receive throws, the caller's finally gives it
        // back, and only the buffers grown here are given back here — never one buffer twice.
        var original = buffer;
        int length = 0;
        ValueWebSocketReceiveResult result = default;
        try
        {
            do
            {
                if (length >= Math.Min(buffer.Length, cap))
                {
                    if (length >= cap)
                    {
                        return Done(new ReceivedMessage(buffer, length, result.MessageType, TooLarge: true));
                    }

                    var bigger = Rent(Math.Min(cap, buffer.Length * 2));
                    buffer.AsSpan(0, length).CopyTo(bigger);
                    if (!ReferenceEquals(buffer, original))
                    {
                        Return(buffer);
                    }

                    buffer = bigger;
                }

                result = await ws.ReceiveAsync(buffer.AsMemory(length, Math.Min(buffer.Length, cap) - length), cancellationToken).ConfigureAwait(false);
                length += result.Count;
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    return Done(new ReceivedMessage(buffer, length, WebSocketMessageType.Close, TooLarge: false));
                }
            }
            while (!result.EndOfMessage);

            return Done(new ReceivedMessage(buffer, length, result.MessageType, TooLarge: false));
        }
        catch
        {
            if (!ReferenceEquals(buffer, original))
            {
                Return(buffer);
            }

            throw;
        }

        // On a normal return the caller takes the (possibly new) buffer: the original goes back now.
        ReceivedMessage Done(ReceivedMessage message)
        {
            if (!ReferenceEquals(message.Buffer, original))
            {
                Return(original);
            }

            return message;
        }
    }
}
