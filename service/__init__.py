"""Medical waste chain-of-custody tracker."""
