using System.Reflection;

namespace Decart.Sdk.Http;

/// <summary>Builds the SDK's User-Agent: <c>decart-dotnet-sdk/{version} lang/dotnet {integration} runtime/dotnet/{version}</c>.</summary>
internal static class UserAgent
{
    /// <summary>The SDK's version.</summary>
    public static string SdkVersion { get; } =
        typeof(UserAgent).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
        ?? typeof(UserAgent).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    /// <summary>The User-Agent for an optional integration tag.</summary>
    public static string Build(string? integration) =>
        string.Join(' ', new[] { $"decart-dotnet-sdk/{SdkVersion}", "lang/dotnet", integration, $"runtime/dotnet/{Environment.Version}" }.Where(s => !string.IsNullOrWhiteSpace(s)));
}
