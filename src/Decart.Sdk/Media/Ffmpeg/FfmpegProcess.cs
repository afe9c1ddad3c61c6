using System.Diagnostics;
using System.Globalization;

namespace Decart.Sdk.Media.Ffmpeg;

/// <summary>
/// One <c>ffmpeg</c> process with raw I420 on a pipe: finds the program, starts it with an argument list (no shell),
/// keeps the last lines of its standard error (bounded) to explain a failure, and stops it.
/// </summary>
internal sealed partial class FfmpegProcess : IAsyncDisposable
{
    private const int StderrLinesKept = 16;
    private readonly Process _process;
    private readonly Queue<string> _stderr = new();
    private readonly Task _stderrPump;

    private FfmpegProcess(Process process)
    {
        _process = process;
        _stderrPump = Task.Run(PumpStderrAsync);
    }

    /// <summary>The running process's output (raw frames from a source).</summary>
    public Stream Output => _process.StandardOutput.BaseStream;

    /// <summary>The running process's input (raw frames to a sink).</summary>
    public Stream Input => _process.StandardInput.BaseStream;

    /// <summary>Whether it has exited.</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>Its exit code, once exited.</summary>
    public int ExitCode => _process.ExitCode;

    /// <summary>The last lines it wrote to standard error, most recent last.</summary>
    public string LastError
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.Count == 0 ? "(ffmpeg printed nothing)" : Redact(string.Join(" | ", _stderr.Reverse().Take(3).Reverse()));
            }
        }
    }

    /// <summary>Finds <c>ffmpeg</c>: the given path, or the first one on <c>PATH</c>.</summary>
    /// <param name="configured">A path the user gave, or null.</param>
    /// <returns>The program's full path.</returns>
    /// <exception cref="DecartException"><see cref="DecartErrorCode.InvalidOptions"/>: not found; the message names the package to install.</exception>
    public static string Locate(string? configured)
    {
        if (!string.IsNullOrWhiteSpace(configured))
        {
            return File.Exists(configured) ? configured : throw NotFound($"'{configured}' does not exist");
        }

        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, OperatingSystem.IsWindows() ? "ffmpeg.exe" : "ffmpeg");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw NotFound("it is not on PATH");
    }

    /// <summary>Starts ffmpeg.</summary>
    /// <param name="program">From <see cref="Locate"/>.</param>
    /// <param name="arguments">Its arguments, each one element (never parsed by a shell).</param>
    /// <param name="writesInput">Whether we write its standard input (a sink); otherwise it reads none.</param>
    /// <returns>The process.</returns>
    public static FfmpegProcess Start(string program, IEnumerable<string> arguments, bool writesInput)
    {
        var info = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = !writesInput,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            CreateNoWindow = true,
        };
        info.ArgumentList.Add("-hide_banner");
        info.ArgumentList.Add("-nostats");
        info.ArgumentList.Add("-loglevel");
        info.ArgumentList.Add("error");
        if (!writesInput)
        {
            info.ArgumentList.Add("-nostdin");
        }

        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        Process process;
        try
        {
            process = Process.Start(info) ?? throw NotFound("it could not be started");
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new DecartException(DecartErrorCode.InvalidOptions, $"ffmpeg at '{program}' could not be started: {ex.Message}.", ex);
        }

        if (!writesInput)
        {
            process.StandardInput.Close();
        }

        return new FfmpegProcess(process);
    }

    /// <summary>Waits for it to exit by itself, up to a limit.</summary>
    /// <param name="limit">How long.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>Whether it exited.</returns>
    public async Task<bool> WaitForExitAsync(TimeSpan limit, CancellationToken cancellationToken = default)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(limit);
        try
        {
            await _process.WaitForExitAsync(cts.Token).ConfigureAwait(false);
            await _stderrPump.ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    /// <summary>Stops it (kills what is still running) and releases it.</summary>
    /// <returns>When it is gone.</returns>
    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }

            await _process.WaitForExitAsync().ConfigureAwait(false);
            await _stderrPump.ConfigureAwait(false);
        }
        catch (InvalidOperationException)
        {
            // Never started or already released.
        }

        _process.Dispose();
    }

    /// <summary>An argument in ffmpeg's invariant number format.</summary>
    /// <param name="value">The number.</param>
    /// <returns>Its text.</returns>
    public static string Number(int value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>Hides a URL's user information (<c>rtsp://user:password@host</c>) wherever ffmpeg or we print one.</summary>
    /// <param name="text">Text that may hold URLs.</param>
    /// <returns>The text with <c>://***@</c> in their place.</returns>
    public static string Redact(string text) => UserInfo().Replace(text, "://***@");

    [System.Text.RegularExpressions.GeneratedRegex(@"://[^/@\s]+@")]
    private static partial System.Text.RegularExpressions.Regex UserInfo();

    private static DecartException NotFound(string why) => new(DecartErrorCode.InvalidOptions,
        $"ffmpeg was not found ({why}). Install it (Debian/Ubuntu: apt-get install ffmpeg) or set FfmpegPath.");

    private async Task PumpStderrAsync()
    {
        try
        {
            while (await _process.StandardError.ReadLineAsync().ConfigureAwait(false) is { } line)
            {
                if (line.Length > 500)
                {
                    line = line[..500];
                }

                lock (_stderr)
                {
                    _stderr.Enqueue(line);
                    if (_stderr.Count > StderrLinesKept)
                    {
                        _stderr.Dequeue();
                    }
                }
            }
        }
        catch (IOException)
        {
        }
        catch (ObjectDisposedException)
        {
        }
    }
}
