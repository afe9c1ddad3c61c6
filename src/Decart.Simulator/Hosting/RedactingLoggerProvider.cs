using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;

namespace Decart.Simulator.Hosting;

/// <summary>
/// Wraps the simulator's log output so that no line, at any level, carries a key or a token: ASP.NET's own request
/// lines include the query string (<c>/v1/stream?api_key=…</c>, <c>/lk/rtc/v1?access_token=…</c>), and exception
/// texts may quote a request. Every formatted message and exception text goes through <see cref="Redact"/>.
/// </summary>
internal sealed partial class RedactingLoggerProvider(ILoggerProvider inner) : ILoggerProvider
{
    /// <summary>What a secret is replaced with.</summary>
    public const string Mask = "***";

    public ILogger CreateLogger(string categoryName) => new RedactingLogger(inner.CreateLogger(categoryName));

    public void Dispose() => inner.Dispose();

    /// <summary>Masks the values of secret-bearing query parameters, headers and JSON fields.</summary>
    /// <param name="text">A formatted log message.</param>
    /// <returns>The text with every secret value replaced by <see cref="Mask"/>.</returns>
    public static string Redact(string text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return text;
        }

        text = QueryParameter().Replace(text, m => m.Groups[1].Value + Mask);
        text = Header().Replace(text, m => m.Groups[1].Value + Mask);
        return JsonField().Replace(text, m => m.Groups[1].Value + Mask + "\"");
    }

    // Query parameters that carry a key or a token (Decart's api_key, LiveKit's access_token, subscribe tokens).
    [GeneratedRegex(@"((?:[?&;\s]|^)(?:api_key|apiKey|api-key|access_token|token|subscribe_token)=)[^&\s""'#]*", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex QueryParameter();

    [GeneratedRegex(@"((?:x-api-key|authorization)\s*[:=]\s*)[^\r\n]+", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex Header();

    [GeneratedRegex(@"(""(?:apiKey|api_key|token|access_token)""\s*:\s*"")[^""]*""", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex JsonField();

    private sealed class RedactingLogger(ILogger inner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => inner.BeginScope(state);

        public bool IsEnabled(LogLevel logLevel) => inner.IsEnabled(logLevel);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!inner.IsEnabled(logLevel))
            {
                return;
            }

            // The exception is folded into the (redacted) text: console formatters print exception.ToString() as is.
            inner.Log(logLevel, eventId, state, null, (s, _) =>
            {
                string message = formatter(s, exception);
                return Redact(exception is null ? message : message + Environment.NewLine + exception);
            });
        }
    }
}
