using System.Net;
using System.Net.Sockets;
using Decart.Rtc.Transport;

namespace Decart.Rtc.Tests.Transport;

/// <summary>
/// The batched socket path of the frame path: a batch of a frame's datagrams leaves in one <c>sendmmsg</c> and what already waits
/// is taken with one <c>recvmmsg</c>, on real loopback UDP sockets. Bad input tried: a slot committed longer than a
/// slot or empty, a batch filled past its capacity, a batch used after disposal, a closed socket, an address of
/// another family, a drained sender copied into an address too small for it, and a datagram longer than a slot.
/// </summary>
public sealed class DatagramBatchTests
{
    [Fact]
    public void On_Linux_the_batch_goes_through_the_kernel_calls()
    {
        Assert.Equal(OperatingSystem.IsLinux(), DatagramBatch.IsNative);
    }

    [Fact]
    public async Task A_batch_of_datagrams_of_every_size_arrives_whole_and_in_order_and_the_rest_is_drained_in_one_call()
    {
        using var sender = Bound();
        using var receiver = Bound();
        using var batch = new DatagramBatch(64);
        int[] sizes = [.. Enumerable.Range(0, 40).Select(i => 1 + ((i * 37) % 1400))];
        for (int i = 0; i < sizes.Length; i++)
        {
            var slot = batch.NextSlot;
            slot[..sizes[i]].Fill((byte)i);
            batch.Commit(sizes[i]);
        }

        Assert.Equal(40, batch.Count);
        Assert.Equal(40, batch.Send(sender, receiver.LocalEndPoint!.Serialize()));
        Assert.Equal(0, batch.Count);
        Assert.True(DatagramBatch.IsNative); // the native call was found: the fallback did not take over

        var first = new byte[2048];
        var from = new SocketAddress(AddressFamily.InterNetwork);
        int n0 = await receiver.ReceiveFromAsync(first, SocketFlags.None, from).AsTask().WaitAsync(TimeSpan.FromSeconds(5));
        var got = new List<byte[]> { first[..n0] };
        using var drain = new DatagramBatch(16);
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (got.Count < 40 && DateTime.UtcNow < deadline)
        {
            int n = drain.Drain(receiver);
            Assert.InRange(n, 0, 16); // never more than its capacity per call
            for (int i = 0; i < n; i++)
            {
                got.Add(drain[i].ToArray());
                var sender2 = new SocketAddress(AddressFamily.InterNetwork);
                Assert.True(drain.CopySenderTo(i, sender2));
                Assert.Equal(sender.LocalEndPoint!.Serialize(), sender2);
            }
        }

        Assert.Equal(sizes, got.Select(d => d.Length));
        for (int i = 0; i < got.Count; i++)
        {
            Assert.All(got[i], b => Assert.Equal((byte)i, b));
        }

        Assert.Equal(0, drain.Drain(receiver)); // nothing waits: returns at once, does not block
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_frame_of_equal_packets_and_a_shorter_last_one_arrives_as_separate_datagrams_with_or_without_segmentation(bool segmentation)
    {
        using var sender = Bound();
        using var receiver = Bound();
        receiver.ReceiveBufferSize = 4 << 20;
        using var batch = new DatagramBatch(64, segmentation);

        // 60 packets of 1,200 bytes (more than one 64 KB segmented message) and a shorter last one, then a larger one.
        int[] sizes = [.. Enumerable.Repeat(1200, 60), 517, 1400];
        for (int i = 0; i < sizes.Length; i++)
        {
            var slot = batch.NextSlot;
            slot[..sizes[i]].Fill((byte)(i + 1));
            slot[0] = (byte)i;
            batch.Commit(sizes[i]);
        }

        Assert.Equal(sizes.Length, batch.Send(sender, receiver.LocalEndPoint!.Serialize()));
        Assert.Equal(segmentation && OperatingSystem.IsLinux(), batch.Segmentation); // the kernel took the segmented messages

        var got = new List<byte[]>();
        var buffer = new byte[65536];
        while (got.Count < sizes.Length)
        {
            int n = await receiver.ReceiveAsync(buffer.AsMemory()).AsTask().WaitAsync(TimeSpan.FromSeconds(5));
            got.Add(buffer[..n]);
        }

        Assert.Equal(sizes, got.Select(d => d.Length));
        for (int i = 0; i < got.Count; i++)
        {
            Assert.Equal((byte)i, got[i][0]);
            Assert.All(got[i].Skip(1), b => Assert.Equal((byte)(i + 1), b));
        }
    }

    [Fact]
    public async Task A_datagram_longer_than_a_slot_is_dropped_by_the_drain_and_the_ones_around_it_are_kept_with_their_senders()
    {
        using var sender = Bound();
        using var receiver = Bound();
        var to = receiver.LocalEndPoint!;
        sender.SendTo(new byte[] { 1 }, to);
        sender.SendTo(new byte[3000], to); // longer than a 2,048-byte slot: the kernel would cut it short
        sender.SendTo(new byte[] { 3, 3 }, to);
        await Task.Delay(100); // all three wait in the socket

        using var drain = new DatagramBatch(8);
        int n = drain.Drain(receiver);
        Assert.Equal(2, n);
        Assert.Equal(2, drain.Count);
        Assert.Equal([1], drain[0].ToArray());
        Assert.Equal([3, 3], drain[1].ToArray());
        var from = new SocketAddress(AddressFamily.InterNetwork);
        Assert.True(drain.CopySenderTo(1, from));
        Assert.Equal(sender.LocalEndPoint!.Serialize(), from);
        Assert.Equal(0, drain.Drain(receiver)); // the long one is gone, not waiting to be read again
    }

    [Fact]
    public void Bad_input_is_refused_with_a_typed_error_and_loses_nothing_already_filled()
    {
        using var batch = new DatagramBatch(2);
        Assert.Throws<ArgumentOutOfRangeException>(() => new DatagramBatch(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new DatagramBatch(4096));
        Assert.Throws<ArgumentOutOfRangeException>(() => batch.Commit(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => batch.Commit(DatagramBatch.SlotSize + 1));
        batch.Add([1, 2, 3]);
        batch.Add([4]);
        Assert.True(batch.IsFull);
        Assert.Throws<InvalidOperationException>(() => batch.Add([5]));
        Assert.Throws<InvalidOperationException>(() => batch.NextSlot.Length);
        Assert.Throws<ArgumentOutOfRangeException>(() => batch[2].Length);
        Assert.Equal([1, 2, 3], batch[0].ToArray());
        Assert.Equal([4], batch[1].ToArray());

        var small = new SocketAddress(AddressFamily.InterNetwork, 16);
        Assert.Throws<ArgumentOutOfRangeException>(() => batch.CopySenderTo(5, small));
        batch.Dispose();
        Assert.True(batch.IsDisposed);
        Assert.Throws<ObjectDisposedException>(() => batch.NextSlot.Length);
        batch.Dispose(); // twice is fine
    }

    [Fact]
    public void Sending_on_a_closed_socket_or_to_another_family_loses_the_batch_without_throwing()
    {
        var socket = Bound();
        using var batch = new DatagramBatch(4);
        batch.Add([1, 2, 3]);
        socket.Dispose();
        Assert.Equal(1, batch.Count);
        Assert.Equal(0, batch.Send(socket, new IPEndPoint(IPAddress.Loopback, 9).Serialize()));
        Assert.Equal(0, batch.Count);
        Assert.Equal(0, batch.Drain(socket));

        using var v4 = Bound();
        batch.Add([1]);
        Assert.Equal(0, batch.Send(v4, new IPEndPoint(IPAddress.IPv6Loopback, 9).Serialize()));
        Assert.Equal(0, batch.Count);
    }

    [Fact]
    public async Task A_sender_too_large_for_the_given_address_is_refused_not_truncated()
    {
        using var sender = Bound();
        using var receiver = Bound();
        sender.SendTo([1], receiver.LocalEndPoint!);
        sender.SendTo([2], receiver.LocalEndPoint!);
        using var drain = new DatagramBatch(4);
        var deadline = DateTime.UtcNow.AddSeconds(5);
        int n = 0;
        while (n < 2 && DateTime.UtcNow < deadline)
        {
            n = drain.Drain(receiver);
            if (n < 2)
            {
                await Task.Delay(10);
            }
        }

        Assert.Equal(2, n);
        var tooSmall = new SocketAddress(AddressFamily.InterNetwork, 8);
        Assert.False(drain.CopySenderTo(0, tooSmall));
        Assert.Equal([1], drain[0].ToArray());
        Assert.Equal([2], drain[1].ToArray());
    }

    private static Socket Bound()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return socket;
    }
}
