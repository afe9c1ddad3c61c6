using System.Runtime.InteropServices;

namespace Decart.Sdk.Media;

/// <summary>Loading a codec library of the system (libvpx, OpenH264) at run time, with errors that say what to install.</summary>
internal static class NativeCodecLibrary
{
    /// <summary>Loads the first of <paramref name="names"/> that the system has and binds its entry points.</summary>
    /// <param name="what">The library, for messages (e.g. "libvpx (the VP8 codec library)").</param>
    /// <param name="names">File names to try, most likely first.</param>
    /// <param name="installHint">How to install it on this OS.</param>
    /// <param name="bind">Binds the entry points; throws <see cref="EntryPointNotFoundException"/> for a missing one.</param>
    /// <exception cref="DecartException"><see cref="DecartErrorCode.WebRtcError"/> when none loads or one lacks an entry point.</exception>
    public static T Load<T>(string what, IEnumerable<string> names, string installHint, Func<nint, T> bind)
    {
        foreach (var name in names)
        {
            if (NativeLibrary.TryLoad(name, typeof(NativeCodecLibrary).Assembly, null, out var handle))
            {
                try
                {
                    return bind(handle);
                }
                catch (EntryPointNotFoundException ex)
                {
                    throw new DecartException(DecartErrorCode.WebRtcError, $"the {what} found as '{name}' lacks {ex.Message}; {installHint}.", ex);
                }
            }
        }

        throw new DecartException(DecartErrorCode.WebRtcError, $"{what} was not found: {installHint}.");
    }

    /// <summary>Whether a library loads (its load error is remembered by the <see cref="Lazy{T}"/>).</summary>
    public static bool IsAvailable<T>(Lazy<T> loaded)
    {
        try
        {
            _ = loaded.Value;
            return true;
        }
        catch (DecartException)
        {
            return false;
        }
    }
}
