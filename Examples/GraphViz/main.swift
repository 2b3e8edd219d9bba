import Ember

print("todo")
