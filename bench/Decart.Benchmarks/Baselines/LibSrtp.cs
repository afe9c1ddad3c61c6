using System.Runtime.InteropServices;
using Decart.Rtc.Srtp;

namespace Decart.Benchmarks.Baselines;

/// <summary>
/// The libsrtp2 baseline of suite 1: Debian's <c>libsrtp2-1</c> (2.5) called through P/Invoke. One instance is one
/// <c>srtp_t</c> session with a single wildcard stream (any outbound for a sender, any inbound for a receiver),
/// keyed with the same master key and salt as our <see cref="SrtpContext"/>. The library protects in place and needs
/// the tag's room after the packet, like ours.
/// </summary>
public sealed unsafe partial class LibSrtp : IDisposable
{
    private const string Library = "libsrtp2.so.1";
    private static readonly object InitLock = new();
    private static bool _initialized;
    private nint _session;

    private LibSrtp(nint session) => _session = session;

    /// <summary>Whether the library can be loaded on this machine (bench/run.sh installs it).</summary>
    public static bool IsAvailable => NativeLibrary.TryLoad(Library, out _);

    /// <summary>Creates a session for one direction.</summary>
    /// <param name="profile">AES-CM + HMAC-SHA1-80 or AEAD AES-128-GCM.</param>
    /// <param name="key">The 16-byte master key.</param>
    /// <param name="salt">The master salt (14 or 12 bytes).</param>
    /// <param name="sender">True for an outbound (protecting) session.</param>
    public static LibSrtp Create(SrtpProfile profile, ReadOnlySpan<byte> key, ReadOnlySpan<byte> salt, bool sender)
    {
        lock (InitLock)
        {
            if (!_initialized)
            {
                Check(srtp_init(), "srtp_init");
                _initialized = true;
            }
        }

        // srtp_policy_t of libsrtp 2.x on LP64: ssrc {type, value} at 0, rtp crypto policy at 8 (6 ints), rtcp at 32,
        // key pointer at 56, then keys/num_master_keys/deprecated_ekt/window_size/allow_repeat_tx/enc_xtn_hdr/count/next.
        // A zeroed 256-byte block leaves every optional field at its default; the setup checks byte equality of
        // both libraries' output, which a wrong offset could not pass.
        byte* policy = stackalloc byte[256];
        new Span<byte>(policy, 256).Clear();
        *(int*)policy = sender ? 3 : 2; // ssrc_any_outbound : ssrc_any_inbound
        if (profile == SrtpProfile.AeadAes128Gcm)
        {
            srtp_crypto_policy_set_aes_gcm_128_16_auth(policy + 8);
            srtp_crypto_policy_set_aes_gcm_128_16_auth(policy + 32);
        }
        else
        {
            srtp_crypto_policy_set_rtp_default(policy + 8);
            srtp_crypto_policy_set_rtp_default(policy + 32);
        }

        byte* material = stackalloc byte[64];
        key.CopyTo(new Span<byte>(material, 64));
        salt.CopyTo(new Span<byte>(material + key.Length, 64 - key.Length));
        *(byte**)(policy + 56) = material;
        nint session;
        Check(srtp_create(&session, policy), "srtp_create");
        return new LibSrtp(session);
    }

    /// <summary>Protects the RTP packet at the start of <paramref name="buffer"/> in place.</summary>
    /// <param name="buffer">Pinned or fixed memory with room for the tag after the packet.</param>
    /// <param name="length">The packet's length.</param>
    /// <returns>The protected length.</returns>
    public int Protect(byte* buffer, int length)
    {
        int n = length;
        Check(srtp_protect(_session, buffer, &n), "srtp_protect");
        return n;
    }

    /// <summary>Verifies and decrypts the SRTP packet at the start of <paramref name="buffer"/> in place.</summary>
    /// <param name="buffer">The packet.</param>
    /// <param name="length">Its protected length.</param>
    /// <returns>The plain length.</returns>
    public int Unprotect(byte* buffer, int length)
    {
        int n = length;
        Check(srtp_unprotect(_session, buffer, &n), "srtp_unprotect");
        return n;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_session != 0)
        {
            _ = srtp_dealloc(_session);
            _session = 0;
        }
    }

    private static void Check(int status, string what)
    {
        if (status != 0)
        {
            throw new InvalidOperationException($"{what} failed with srtp_err_status {status}");
        }
    }

    [LibraryImport(Library)]
    private static partial int srtp_init();

    [LibraryImport(Library)]
    private static partial int srtp_create(nint* session, byte* policy);

    [LibraryImport(Library)]
    private static partial int srtp_protect(nint session, byte* packet, int* length);

    [LibraryImport(Library)]
    private static partial int srtp_unprotect(nint session, byte* packet, int* length);

    [LibraryImport(Library)]
    private static partial int srtp_dealloc(nint session);

    [LibraryImport(Library)]
    private static partial void srtp_crypto_policy_set_rtp_default(byte* policy);

    [LibraryImport(Library)]
    private static partial void srtp_crypto_policy_set_aes_gcm_128_16_auth(byte* policy);
}
