/* Whether this CPU and its operating system run x86-64-v3 code (AVX, AVX2, BMI1, BMI2, F16C,
 * FMA, LZCNT, MOVBE, with the AVX registers saved by the OS). Read with CPUID directly: ifunc
 * resolvers run while the program is being relocated, before libgcc's CPU model is set up. */
#include <cpuid.h>

static int mp3lame_sys_has_x86_64_v3(void) {
    unsigned int eax, ebx, ecx, edx, xcr0_low, xcr0_high;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) {
        return 0;
    }
    const unsigned int leaf1_ecx = (1u << 12) | (1u << 22) | (1u << 27) | (1u << 28) | (1u << 29);
    if ((ecx & leaf1_ecx) != leaf1_ecx) {
        return 0; /* FMA, MOVBE, OSXSAVE, AVX, F16C */
    }
    __asm__ volatile("xgetbv" : "=a"(xcr0_low), "=d"(xcr0_high) : "c"(0));
    (void)xcr0_high;
    if ((xcr0_low & 6u) != 6u) {
        return 0; /* SSE and AVX register state enabled by the OS */
    }
    if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) {
        return 0;
    }
    const unsigned int leaf7_ebx = (1u << 3) | (1u << 5) | (1u << 8);
    if ((ebx & leaf7_ebx) != leaf7_ebx) {
        return 0; /* BMI1, AVX2, BMI2 */
    }
    if (!__get_cpuid(0x80000001u, &eax, &ebx, &ecx, &edx)) {
        return 0;
    }
    return (ecx & (1u << 5)) != 0; /* LZCNT */
}

