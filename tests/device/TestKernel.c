/* A tiny shared object that CpuDeviceTest loads through loadModule(). */
int kt_test_add(int a, int b) { return a + b; }
