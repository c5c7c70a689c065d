using System.Runtime.InteropServices;

namespace Multicast.Linux.Ring;

/// <summary>A shim call failed: carries the negative errno and the shim's description of the failing step.</summary>
public sealed class ShimException(int errno, string message) : Exception(message)
{
    public int Errno { get; } = errno;

    internal static ShimException FromResult(int result, string operation)
    {
        string detail = Marshal.PtrToStringUTF8(Shim.LastError()) ?? "";
        return new ShimException(-result, $"{operation}: {detail} (errno {-result})");
    }

    internal static int Check(int result, string operation) => result < 0 ? throw FromResult(result, operation) : result;
}
