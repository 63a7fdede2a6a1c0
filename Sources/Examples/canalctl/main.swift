print("canalctl")
