using Decart.Rtc.Transport;

namespace Decart.Rtc.Tests.Transport;

public sealed class PacketDemuxTests
{
    /// <summary>A path the test pushes datagrams into by hand.</summary>
    private sealed class ManualPath : IDatagramTransport
    {
        public List<byte[]> Sent { get; } = [];

        public event DatagramHandler? DatagramReceived;

        public int MaxDatagramSize => 1500;

        public void Push(params byte[] datagram) => DatagramReceived?.Invoke(datagram);

        public bool Send(ReadOnlySpan<byte> datagram)
        {
            Sent.Add(datagram.ToArray());
            return true;
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    [Theory]
    [InlineData(0, nameof(DatagramKind.Stun))]
    [InlineData(1, nameof(DatagramKind.Stun))]
    [InlineData(3, nameof(DatagramKind.Stun))]
    [InlineData(16, nameof(DatagramKind.Unknown))] // ZRTP
    [InlineData(20, nameof(DatagramKind.Dtls))]
    [InlineData(22, nameof(DatagramKind.Dtls))]
    [InlineData(63, nameof(DatagramKind.Dtls))]
    [InlineData(64, nameof(DatagramKind.Unknown))] // TURN channel
    [InlineData(127, nameof(DatagramKind.Unknown))]
    [InlineData(128, nameof(DatagramKind.Media))]
    [InlineData(191, nameof(DatagramKind.Media))]
    [InlineData(192, nameof(DatagramKind.Unknown))]
    [InlineData(255, nameof(DatagramKind.Unknown))]
    public void First_byte_ranges_follow_rfc_7983(byte first, string kind) =>
        Assert.Equal(Enum.Parse<DatagramKind>(kind), Rfc7983.Classify([first, 0, 0]));

    [Fact]
    public void Each_datagram_goes_one_way_and_the_rest_is_counted()
    {
        var path = new ManualPath();
        using var demux = new PacketDemux(path);
        var dtls = new List<byte>();
        var media = new List<byte>();
        demux.Dtls.DatagramReceived += d => dtls.Add(d[0]);
        demux.MediaReceived += d => media.Add(d[0]);

        path.Push(22, 0xfe, 0xfd);
        path.Push(0x80, 96);
        path.Push(0x81, 200); // RTCP also goes to media: SRTP tells the two apart
        path.Push(0, 1, 0, 0); // STUN has no business past ICE
        path.Push(64, 0);
        path.Push([]);
        Assert.Equal([22], dtls);
        Assert.Equal([0x80, 0x81], media);
        Assert.Equal(3, demux.Unclassified);

        Assert.True(demux.Dtls.Send([22, 1]));
        Assert.Single(path.Sent);

        demux.Dispose();
        path.Push(0x80, 96);
        Assert.Equal(2, media.Count); // detached from the lower path
    }
}
