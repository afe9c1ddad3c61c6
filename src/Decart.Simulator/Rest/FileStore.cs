using System.Security.Cryptography;

namespace Decart.Simulator.Rest;

/// <summary>An uploaded file of the simulator's Files API (<c>POST /v1/files</c>).</summary>
/// <param name="Id">The reference id, <c>file_…</c>.</param>
/// <param name="FileName">The name the upload carried, if any.</param>
/// <param name="MimeType">The media type found in the bytes (<c>image/png</c>, <c>image/jpeg</c>, <c>image/webp</c>).</param>
/// <param name="SizeBytes">Its size.</param>
/// <param name="CreatedAt">When it was uploaded.</param>
/// <param name="ExpiresAt">When it expires; null for a persistent file.</param>
/// <param name="Sha256">Hex SHA-256 of the bytes: what a realtime session's state records for the image.</param>
public sealed record SimulatedFile(string Id, string? FileName, string MimeType, long SizeBytes, DateTimeOffset CreatedAt, DateTimeOffset? ExpiresAt, string Sha256);

/// <summary>Why a file reference could not be used.</summary>
public enum FileLookup
{
    /// <summary>Found and live.</summary>
    Found,

    /// <summary>No file with that id (never uploaded, deleted, or forgotten).</summary>
    NotFound,

    /// <summary>The file's time to live has passed.</summary>
    Expired,
}

/// <summary>
/// The Files API's store: uploads kept in memory with their own time to live (or persistent), bounded by a number of
/// files and a total of bytes — beyond either, the oldest uploads go. An expired file keeps its metadata (so a session
/// that refers to it is told <em>expired</em>, not <em>unknown</em>) until pruned; its bytes are dropped at once.
/// Thread-safe.
/// </summary>
public sealed class FileStore
{
    /// <summary>Shortest time to live accepted (60 s).</summary>
    public static readonly TimeSpan MinTtl = TimeSpan.FromSeconds(60);

    /// <summary>Longest time to live accepted (30 days, 2,592,000 s).</summary>
    public static readonly TimeSpan MaxTtl = TimeSpan.FromDays(30);

    /// <summary>The time to live of an upload that names none (24 h).</summary>
    public static readonly TimeSpan DefaultTtl = TimeSpan.FromHours(24);

    private readonly object _gate = new();
    private readonly Dictionary<string, Entry> _files = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;
    private long _bytes;

    /// <summary>Creates a store.</summary>
    /// <param name="time">Clock.</param>
    /// <param name="maxFiles">Most files kept.</param>
    /// <param name="maxTotalBytes">Most bytes kept over all files.</param>
    public FileStore(TimeProvider time, int maxFiles = 1_000, long maxTotalBytes = 256L * 1024 * 1024)
    {
        _time = time;
        MaxFiles = Math.Max(1, maxFiles);
        MaxTotalBytes = Math.Max(1, maxTotalBytes);
    }

    /// <summary>Most files kept.</summary>
    public int MaxFiles { get; }

    /// <summary>Most bytes kept over all files.</summary>
    public long MaxTotalBytes { get; }

    /// <summary>Files kept now (live or expired, not yet pruned).</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _files.Count;
            }
        }
    }

    /// <summary>Bytes kept now.</summary>
    public long TotalBytes => Interlocked.Read(ref _bytes);

    /// <summary>Keeps an upload.</summary>
    /// <param name="bytes">The file.</param>
    /// <param name="fileName">Its name, if the upload gave one.</param>
    /// <param name="mimeType">The media type found in the bytes.</param>
    /// <param name="ttl">Its time to live; null for persistent.</param>
    /// <returns>The file's metadata.</returns>
    public SimulatedFile Add(byte[] bytes, string? fileName, string mimeType, TimeSpan? ttl)
    {
        var now = _time.GetUtcNow();
        var file = new SimulatedFile(
            "file_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12)),
            fileName,
            mimeType,
            bytes.LongLength,
            now,
            ttl is { } t ? now + t : null,
            Convert.ToHexStringLower(SHA256.HashData(bytes)));
        lock (_gate)
        {
            _files[file.Id] = new Entry(file, bytes);
            _bytes += bytes.LongLength;
            PruneLocked(now);
        }

        return file;
    }

    /// <summary>Finds a file.</summary>
    /// <param name="id">Its id.</param>
    /// <param name="file">The file when found (also when expired).</param>
    /// <returns>Whether it is there and live.</returns>
    public FileLookup Find(string id, out SimulatedFile? file)
    {
        lock (_gate)
        {
            if (!_files.TryGetValue(id, out var entry))
            {
                file = null;
                return FileLookup.NotFound;
            }

            file = entry.File;
            if (entry.File.ExpiresAt is { } expires && _time.GetUtcNow() >= expires)
            {
                DropBytesLocked(id, entry);
                return FileLookup.Expired;
            }

            return FileLookup.Found;
        }
    }

    /// <summary>The bytes of a live file.</summary>
    /// <param name="id">Its id.</param>
    /// <returns>The bytes, or null when the file is unknown or expired.</returns>
    public byte[]? Content(string id)
    {
        lock (_gate)
        {
            return Find(id, out _) == FileLookup.Found ? _files[id].Bytes : null;
        }
    }

    /// <summary>Deletes a file.</summary>
    /// <param name="id">Its id.</param>
    /// <returns>Whether there was one (live or expired).</returns>
    public bool Delete(string id)
    {
        lock (_gate)
        {
            if (!_files.Remove(id, out var entry))
            {
                return false;
            }

            _bytes -= entry.Bytes?.LongLength ?? 0;
            return true;
        }
    }

    private void DropBytesLocked(string id, Entry entry)
    {
        if (entry.Bytes is not null)
        {
            _bytes -= entry.Bytes.LongLength;
            _files[id] = entry with { Bytes = null };
        }
    }

    private void PruneLocked(DateTimeOffset now)
    {
        // Expired files lose their bytes at once and their metadata after as long again as they lived (at least a day).
        foreach (var (id, entry) in _files.ToArray())
        {
            if (entry.File.ExpiresAt is { } expires && now >= expires)
            {
                DropBytesLocked(id, entry);
                var lived = expires - entry.File.CreatedAt;
                if (now >= expires + (lived > TimeSpan.FromDays(1) ? lived : TimeSpan.FromDays(1)))
                {
                    _files.Remove(id);
                }
            }
        }

        if (_files.Count <= MaxFiles && _bytes <= MaxTotalBytes)
        {
            return;
        }

        foreach (var (id, entry) in _files.OrderBy(e => e.Value.File.CreatedAt).ToArray())
        {
            if (_files.Count <= MaxFiles && _bytes <= MaxTotalBytes)
            {
                break;
            }

            _files.Remove(id);
            _bytes -= entry.Bytes?.LongLength ?? 0;
        }
    }

    private sealed record Entry(SimulatedFile File, byte[]? Bytes);
}
