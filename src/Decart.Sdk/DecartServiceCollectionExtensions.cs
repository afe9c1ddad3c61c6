using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Decart.Sdk;

/// <summary>Registers <see cref="DecartClient"/> with Microsoft.Extensions.DependencyInjection.</summary>
public static class DecartServiceCollectionExtensions
{
    /// <summary>The name of the <c>IHttpClientFactory</c> client the SDK uses.</summary>
    public const string HttpClientName = "Decart";

    /// <summary>Adds a singleton <see cref="DecartClient"/> configured in code.</summary>
    /// <param name="services">The services.</param>
    /// <param name="configure">Sets the options.</param>
    /// <returns>The services, for chaining.</returns>
    public static IServiceCollection AddDecartClient(this IServiceCollection services, Action<DecartClientOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOptions<DecartClientOptions>().Configure(configure);
        return AddCore(services);
    }

    /// <summary>Adds a singleton <see cref="DecartClient"/> whose options bind from configuration (e.g. the <c>Decart</c> section:
    /// <c>ApiKey</c>, <c>BaseUrl</c>, <c>RealtimeBaseUrl</c>, <c>Integration</c>, <c>Timeout</c>).</summary>
    /// <param name="services">The services.</param>
    /// <param name="configuration">The section to bind.</param>
    /// <returns>The services, for chaining.</returns>
    public static IServiceCollection AddDecartClient(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOptions<DecartClientOptions>().Bind(configuration);
        return AddCore(services);
    }

    private static IServiceCollection AddCore(IServiceCollection services)
    {
        services.AddHttpClient(HttpClientName, http => http.Timeout = Timeout.InfiniteTimeSpan);
        services.AddSingleton(provider => new DecartClient(
            provider.GetRequiredService<IOptions<DecartClientOptions>>().Value,
            provider.GetRequiredService<IHttpClientFactory>().CreateClient(HttpClientName),
            provider.GetService<ILoggerFactory>()));
        return services;
    }
}
