using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Decart.Simulator.Hosting;
using Decart.Simulator.Model;

namespace Decart.Simulator.Realtime;

/// <summary>
/// A session's state: <c>prompt</c> and <c>set_image</c> validated and applied, each applied update given the next
/// version, the history, the <see cref="RenderState"/> the model draws with, and the acks that wait for the first
/// output frame made with their version. It neither reads nor writes the socket: it returns the ack to send.
/// </summary>
/// <param name="options">The simulator's limits and clock.</param>
/// <param name="files">The Files API's store, for <c>image_ref</c>; null refuses every reference.</param>
internal sealed class StateUpdates(SimulatorOptions options, Rest.FileStore? files = null)
{
    /// <summary>Longest prompt accepted.</summary>
    public const int MaxPromptLength = 1000;

    /// <summary>Longest an ack waits for a frame with its version.</summary>
    public static readonly TimeSpan AckWaitLimit = TimeSpan.FromSeconds(1);

    private readonly object _gate = new();
    private readonly List<AppliedState> _history = [];
    private readonly Queue<long> _recentUpdates = new();
    private readonly List<PendingAck> _pendingAcks = [];
    private string? _prompt;
    private bool _enhance = true;
    private string? _imageHash;
    private int _version;
    private long _rejected;
    private RenderState _render = new(0, null, true, null);

    /// <summary>Raised after an update was applied (before its ack is sent).</summary>
    public event Action<AppliedState>? Applied;

    public string? Prompt
    {
        get
        {
            lock (_gate)
            {
                return _prompt;
            }
        }
    }

    public bool Enhance
    {
        get
        {
            lock (_gate)
            {
                return _enhance;
            }
        }
    }

    public string? ImageHash
    {
        get
        {
            lock (_gate)
            {
                return _imageHash;
            }
        }
    }

    public int Version
    {
        get
        {
            lock (_gate)
            {
                return _version;
            }
        }
    }

    public IReadOnlyList<AppliedState> History
    {
        get
        {
            lock (_gate)
            {
                return _history.ToArray();
            }
        }
    }

    /// <summary>What the model draws with now.</summary>
    public RenderState Render
    {
        get
        {
            lock (_gate)
            {
                return _render;
            }
        }
    }

    /// <summary>Updates answered with <c>success:false</c>.</summary>
    public long Rejected => Interlocked.Read(ref _rejected);

    /// <summary>A <c>prompt</c> message: validated, applied, and its ack returned with the version it applied (0: refused).</summary>
    public (JsonObject Ack, int Version) ApplyPrompt(JsonElement root)
    {
        string? prompt = root.TryGetProperty("prompt", out var p) && p.ValueKind == JsonValueKind.String ? p.GetString() : null;
        bool enhance = !root.TryGetProperty("enhance_prompt", out var e) || e.ValueKind != JsonValueKind.False;
        string? error = prompt is null ? "prompt must be a string"
            : prompt.Length is < 1 or > MaxPromptLength ? $"prompt must be 1-{MaxPromptLength} characters"
            : RateLimited() ? "Too many updates: debounce prompt changes" : null;
        int version = 0;
        if (error is null)
        {
            version = Apply(_ => (prompt, enhance, null, false), "prompt");
        }
        else
        {
            Interlocked.Increment(ref _rejected);
        }

        // A refused prompt is echoed only up to the limit: a 9 MB prompt must not come back as a 9 MB ack.
        string echoed = prompt is null ? string.Empty : prompt.Length > MaxPromptLength ? prompt[..MaxPromptLength] : prompt;
        return (new JsonObject { ["type"] = "prompt_ack", ["prompt"] = echoed, ["success"] = error is null, ["error"] = error }, version);
    }

    /// <summary>A <c>set_image</c> message (with or without a prompt): validated, applied as one version, its ack returned.</summary>
    public (JsonObject Ack, int Version) ApplySetImage(JsonElement root)
    {
        string? error = null;
        string? hash = null;
        bool hasData = root.TryGetProperty("image_data", out var image) && image.ValueKind != JsonValueKind.Null;
        if (root.TryGetProperty("image_ref", out var reference) && reference.ValueKind != JsonValueKind.Null)
        {
            error = hasData ? "set_image takes one of image_data or image_ref, not both"
                : reference.ValueKind != JsonValueKind.String ? "image_ref must be a file id (file_…)"
                : ResolveFile(reference.GetString()!, out hash);
        }
        else if (!hasData)
        {
            hash = null;
        }
        else if (image.ValueKind != JsonValueKind.String)
        {
            error = "image_data must be a base64 string or null";
        }
        else
        {
            error = CheckImage(image.GetString()!, out hash);
        }

        bool hasPrompt = root.TryGetProperty("prompt", out var p);
        string? prompt = null;
        if (error is null && hasPrompt)
        {
            if (p.ValueKind == JsonValueKind.String)
            {
                prompt = p.GetString();
                if (prompt!.Length is < 1 or > MaxPromptLength)
                {
                    error = $"prompt must be 1-{MaxPromptLength} characters";
                }
            }
            else if (p.ValueKind != JsonValueKind.Null)
            {
                error = "prompt must be a string or null";
            }
        }

        if (error is null && RateLimited())
        {
            error = "Too many updates: debounce prompt changes";
        }

        int version = 0;
        if (error is null)
        {
            bool? enhance = root.TryGetProperty("enhance_prompt", out var e) && e.ValueKind is JsonValueKind.True or JsonValueKind.False ? e.GetBoolean() : null;
            version = Apply(current => (hasPrompt ? prompt : current.Prompt, enhance ?? (hasPrompt || current.Enhance), hash, true), "set_image");
        }
        else
        {
            Interlocked.Increment(ref _rejected);
        }

        return (new JsonObject { ["type"] = "set_image_ack", ["success"] = error is null, ["error"] = error }, version);
    }

    /// <summary>Keeps an ack until an output frame with its version goes out (or <see cref="AckWaitLimit"/> passes).</summary>
    public void Defer(JsonObject ack, int version)
    {
        lock (_pendingAcks)
        {
            _pendingAcks.Add(new PendingAck(version, ack, options.TimeProvider.GetTimestamp() + (long)(AckWaitLimit.TotalSeconds * options.TimeProvider.TimestampFrequency)));
        }
    }

    /// <summary>The version of the last ack still waiting for its frame, or null when none waits.</summary>
    public int? LastDeferredVersion
    {
        get
        {
            lock (_pendingAcks)
            {
                return _pendingAcks.Count == 0 ? null : _pendingAcks[^1].Version;
            }
        }
    }

    /// <summary>The deferred acks due now: those of a version up to <paramref name="shown"/>, and any that waited too long.</summary>
    public List<JsonObject>? TakeDueAcks(int shown)
    {
        List<JsonObject>? due = null;
        long now = options.TimeProvider.GetTimestamp();
        lock (_pendingAcks)
        {
            for (int i = 0; i < _pendingAcks.Count; i++)
            {
                var ack = _pendingAcks[i];
                if (ack.Version <= shown || now >= ack.Deadline)
                {
                    (due ??= []).Add(ack.Message);
                    _pendingAcks.RemoveAt(i--);
                }
            }
        }

        return due;
    }

    private int Apply(Func<(string? Prompt, bool Enhance), (string? Prompt, bool Enhance, string? ImageHash, bool SetsImage)> update, string via)
    {
        AppliedState applied;
        lock (_gate)
        {
            var (prompt, enhance, imageHash, setsImage) = update((_prompt, _enhance));
            _prompt = prompt;
            _enhance = enhance;
            if (setsImage)
            {
                _imageHash = imageHash;
            }

            _version++;
            _render = new RenderState(_version, _prompt, _enhance, _imageHash);
            applied = new AppliedState(_prompt, _enhance, _imageHash, via, options.TimeProvider.GetUtcNow()) { Version = _version };
            _history.Add(applied);
        }

        Applied?.Invoke(applied);
        return applied.Version;
    }

    private string? CheckImage(string base64, out string? hash)
    {
        hash = null;
        long decodedMax = (long)base64.Length * 3 / 4;
        if (decodedMax > options.MaxImageBytes + 3)
        {
            return string.Create(CultureInfo.InvariantCulture, $"Image too large (about {decodedMax} bytes; limit {options.MaxImageBytes})");
        }

        byte[] bytes = ArrayPool<byte>.Shared.Rent((int)decodedMax + 4);
        try
        {
            if (!Convert.TryFromBase64String(base64, bytes, out int n))
            {
                return "image_data is not valid base64";
            }

            var data = bytes.AsSpan(0, n);
            if (n > options.MaxImageBytes)
            {
                return string.Create(CultureInfo.InvariantCulture, $"Image too large ({n} bytes; limit {options.MaxImageBytes})");
            }

            if (Rest.ImageFormat.Sniff(data) is null)
            {
                return "Unsupported image format: expected PNG, JPEG or WebP";
            }

            hash = Convert.ToHexStringLower(SHA256.HashData(data));
            return null;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(bytes);
        }
    }

    /// <summary>The image of an uploaded file: its hash, or why it cannot be used.</summary>
    private string? ResolveFile(string id, out string? hash)
    {
        hash = null;
        string shown = id.Length > 64 ? id[..64] + "…" : id;
        if (files is null)
        {
            return $"File {shown} not found";
        }

        switch (files.Find(id, out var file))
        {
            case Rest.FileLookup.Found:
                hash = file!.Sha256;
                return null;
            case Rest.FileLookup.Expired:
                return $"File {shown} has expired";
            default:
                return $"File {shown} not found";
        }
    }

    private bool RateLimited()
    {
        var time = options.TimeProvider;
        long now = time.GetTimestamp();
        lock (_recentUpdates)
        {
            while (_recentUpdates.Count > 0 && now - _recentUpdates.Peek() > time.TimestampFrequency)
            {
                _recentUpdates.Dequeue();
            }

            if (_recentUpdates.Count >= options.MaxUpdatesPerSecond)
            {
                return true;
            }

            _recentUpdates.Enqueue(now);
            return false;
        }
    }

    private readonly record struct PendingAck(int Version, JsonObject Message, long Deadline);
}
