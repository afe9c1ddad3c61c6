using BenchmarkDotNet.Attributes;
using Decart.Benchmarks.Infrastructure;
using Decart.Benchmarks.Baselines;
using Decart.Rtc.Rtp;
using Decart.Rtc.Srtp;

namespace Decart.Benchmarks.Rtp;

/// <summary>
/// Suite 1: SRTP protect and unprotect per packet, both profiles, 200 B and 1,200 B payloads, ours against libsrtp2
/// (Debian's <c>libsrtp2-1</c>, P/Invoke) doing the same work on the same packets in the same run: the ratio
/// column is our time / libsrtp's. Unprotect runs on a freshly protected packet each time with a sequence number
/// that keeps increasing, so neither replay window rejects it. The setup checks that both libraries produce the
/// same bytes for the same packet and that each unprotects the other's output, so the two rows do the same work.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(MicroConfig))]
[GroupBenchmarksBy(BenchmarkDotNet.Configs.BenchmarkLogicalGroupRule.ByCategory, BenchmarkDotNet.Configs.BenchmarkLogicalGroupRule.ByParams)]
[CategoriesColumn]
public unsafe class SrtpBenchmarks
{
    private SrtpContext _sender = null!;
    private SrtpContext _receiver = null!;
    private SrtpContext _protectOnly = null!;
    private LibSrtp _libSender = null!;
    private LibSrtp _libReceiver = null!;
    private LibSrtp _libProtectOnly = null!;
    private byte[] _plain = null!;
    private byte[] _work = null!;
    private byte* _workPointer;
    private int _plainLength;
    private ushort _sequence;
    private ushort _libSequence;

    /// <summary>The SRTP profile.</summary>
    [Params(SrtpProfile.Aes128CmHmacSha1_80, SrtpProfile.AeadAes128Gcm)]
    public SrtpProfile Profile { get; set; }

    /// <summary>Payload size in bytes.</summary>
    [Params(200, 1200)]
    public int PayloadSize { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var key = Enumerable.Range(0, 16).Select(i => (byte)i).ToArray();
        var salt = Enumerable.Range(0, Profile.SaltLength()).Select(i => (byte)(i + 100)).ToArray();
        _sender = SrtpContext.Create(Profile, key, salt);
        _receiver = SrtpContext.Create(Profile, key, salt);
        _protectOnly = SrtpContext.Create(Profile, key, salt);
        _libSender = LibSrtp.Create(Profile, key, salt, sender: true);
        _libReceiver = LibSrtp.Create(Profile, key, salt, sender: false);
        _libProtectOnly = LibSrtp.Create(Profile, key, salt, sender: true);
        _plain = new byte[1500];
        var w = new RtpWriter(_plain, 96, 0, 0, 0x1234, false);
        w.AddExtension(3, [1, 2, 3]);
        _plainLength = w.WritePayload(Enumerable.Range(0, PayloadSize).Select(i => (byte)(i * 7)).ToArray());
        _work = GC.AllocateArray<byte>(1500, pinned: true);
        _workPointer = (byte*)System.Runtime.CompilerServices.Unsafe.AsPointer(ref _work[0]);
        CheckSameWork(key, salt);
    }

    /// <summary>Same packet, same keys: identical protected bytes, and each side accepts the other's packet.</summary>
    private void CheckSameWork(byte[] key, byte[] salt)
    {
        using var ours = SrtpContext.Create(Profile, key, salt);
        using var oursIn = SrtpContext.Create(Profile, key, salt);
        using var lib = LibSrtp.Create(Profile, key, salt, sender: true);
        using var libIn = LibSrtp.Create(Profile, key, salt, sender: false);
        var a = GC.AllocateArray<byte>(1500, pinned: true);
        var b = GC.AllocateArray<byte>(1500, pinned: true);
        _plain.AsSpan(0, _plainLength).CopyTo(a);
        _plain.AsSpan(0, _plainLength).CopyTo(b);
        ours.ProtectRtp(a, _plainLength, out int na);
        int nb;
        fixed (byte* pb = b)
        {
            nb = lib.Protect(pb, _plainLength);
        }

        if (!a.AsSpan(0, na).SequenceEqual(b.AsSpan(0, nb)))
        {
            throw new InvalidOperationException($"libsrtp and Decart.Rtc disagree on the protected packet ({Profile}, {PayloadSize} B)");
        }

        int plainLength;
        fixed (byte* pa = a)
        {
            plainLength = libIn.Unprotect(pa, na);
        }

        if (oursIn.UnprotectRtp(b, nb, out int nb2) != SrtpError.None || plainLength != _plainLength || nb2 != _plainLength
            || !a.AsSpan(0, plainLength).SequenceEqual(_plain.AsSpan(0, _plainLength)) || !b.AsSpan(0, nb2).SequenceEqual(_plain.AsSpan(0, _plainLength)))
        {
            throw new InvalidOperationException("libsrtp and Decart.Rtc do not unprotect each other's packets");
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _sender.Dispose();
        _receiver.Dispose();
        _protectOnly.Dispose();
        _libSender.Dispose();
        _libReceiver.Dispose();
        _libProtectOnly.Dispose();
    }

    [Benchmark(Baseline = true, Description = "libsrtp2 protect")]
    [BenchmarkCategory("Protect")]
    public int LibSrtpProtect()
    {
        _plain.AsSpan(0, _plainLength).CopyTo(_work);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(_work.AsSpan(2), _libSequence++);
        return _libProtectOnly.Protect(_workPointer, _plainLength);
    }

    [Benchmark(Description = "Decart.Rtc protect")]
    [BenchmarkCategory("Protect")]
    public int Protect()
    {
        _plain.AsSpan(0, _plainLength).CopyTo(_work);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(_work.AsSpan(2), _sequence++);
        _protectOnly.ProtectRtp(_work, _plainLength, out int n);
        return n;
    }

    [Benchmark(Baseline = true, Description = "libsrtp2 protect+unprotect")]
    [BenchmarkCategory("ProtectUnprotect")]
    public int LibSrtpProtectThenUnprotect()
    {
        _plain.AsSpan(0, _plainLength).CopyTo(_work);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(_work.AsSpan(2), _libSequence++);
        int n = _libSender.Protect(_workPointer, _plainLength);
        return _libReceiver.Unprotect(_workPointer, n);
    }

    [Benchmark(Description = "Decart.Rtc protect+unprotect")]
    [BenchmarkCategory("ProtectUnprotect")]
    public int ProtectThenUnprotect()
    {
        _plain.AsSpan(0, _plainLength).CopyTo(_work);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(_work.AsSpan(2), _sequence++);
        _sender.ProtectRtp(_work, _plainLength, out int n);
        _receiver.UnprotectRtp(_work, n, out int m);
        return m;
    }
}

/// <summary>Suite 2 (part): RTP header parse and write with header extensions, and the NACK send-buffer lookup.</summary>
[MemoryDiagnoser]
[Config(typeof(MicroConfig))]
public class RtpBenchmarks
{
    private readonly byte[] _packet = new byte[1500];
    private readonly byte[] _payload = new byte[1100];
    private readonly RtpSendBuffer _buffer = new();
    private int _length;
    private ushort _sequence;

    [GlobalSetup]
    public void Setup()
    {
        var w = new RtpWriter(_packet, 96, 1000, 90000, 0x1234, true);
        w.AddExtension(1, [1, 2, 3]);
        w.AddExtension(3, [4, 5]);
        _length = w.WritePayload(_payload);
        for (ushort s = 0; s < 1024; s++)
        {
            _buffer.Store(s, _packet.AsSpan(0, _length));
        }
    }

    [Benchmark(Baseline = true)]
    public int Parse()
    {
        RtpHeader.TryParse(_packet.AsSpan(0, _length), out var h, out _);
        h.TryGetExtension(_packet.AsSpan(0, _length), 3, out var ext);
        return h.PayloadLength + ext.Length;
    }

    [Benchmark]
    public int Write()
    {
        var w = new RtpWriter(_packet, 96, _sequence++, 90000, 0x1234, true);
        w.AddExtension(1, [1, 2, 3]);
        w.AddExtension(3, [4, 5]);
        return w.WritePayload(_payload);
    }

    [Benchmark]
    public int NackLookup()
    {
        _buffer.TryGet((ushort)(_sequence++ & 1023), out var packet);
        return packet.Length;
    }
}
