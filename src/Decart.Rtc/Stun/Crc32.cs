namespace Decart.Rtc.Stun;

/// <summary>CRC-32 (ISO-HDLC, reflected polynomial 0xEDB88320), as STUN FINGERPRINT and PNG chunks use it.</summary>
internal static class Crc32
{
    private static readonly uint[] Table = Build();

    /// <summary>The CRC-32 of <paramref name="data"/>.</summary>
    /// <param name="data">The bytes.</param>
    /// <returns>The checksum.</returns>
    public static uint Compute(ReadOnlySpan<byte> data) => ~Append(0xFFFFFFFF, data);

    /// <summary>Folds more bytes into a running, pre-inverted CRC (start with 0xFFFFFFFF, invert at the end).</summary>
    /// <param name="crc">The running value.</param>
    /// <param name="data">More bytes.</param>
    /// <returns>The new running value.</returns>
    public static uint Append(uint crc, ReadOnlySpan<byte> data)
    {
        var table = Table;
        foreach (byte b in data)
        {
            crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8);
        }

        return crc;
    }

    private static uint[] Build()
    {
        var table = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            uint c = n;
            for (int k = 0; k < 8; k++)
            {
                c = (c & 1) != 0 ? 0xEDB88320 ^ (c >> 1) : c >> 1;
            }

            table[n] = c;
        }

        return table;
    }
}
